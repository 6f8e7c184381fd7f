using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Heartbeats;
using Monitoring.Listings;

namespace Monitoring.Api.Endpoints;

/// <summary>
/// Heartbeat checks (<c>/api/heartbeats</c>) and their ping URLs (<c>/ping/{token}</c>, <c>/start</c>, <c>/fail</c>,
/// <c>/{exit code}</c>, by GET, HEAD or POST). A ping URL's token is its only credential: an unknown or revoked one is
/// a plain 404 that says nothing about which exist; pings are limited per token (<see cref="PingsPerMinute"/>); a body
/// (the run's log) is kept up to its first 1,000 characters and refused above 10,000 bytes.
/// </summary>
public static class HeartbeatEndpoints
{
    public const string PingPath = "/ping";
    public const int PingsPerMinute = 60;

    public static void MapHeartbeatEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/heartbeats").WithTags("Heartbeats")
            .Audited("heartbeat", async (grains, id) => await grains.GetGrain<IHeartbeatGrain>(id).GetAsync() is { } v ? HeartbeatResponse.From(v) : null);
        group.MapPost("/", async (HeartbeatRequest request, HttpContext http, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToCheck(null, errors) is not { } check) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IHeartbeatGrain>(check.Id);
            var (result, token) = await grain.CreateAsync(check);
            if (ProblemResults.From(result, "heartbeat", check.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/heartbeats/{check.Id}", HeartbeatResponse.From((await grain.GetAsync())!) with { PingUrl = UrlOf(http, token!) });
        });
        group.MapGet("/", async (IListingStore listings, int? limit, int? offset, string? status) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            if (status is not null && !Enum.TryParse<HeartbeatStatus>(status, ignoreCase: true, out _)) return ProblemResults.Invalid([new("status", $"'{status}' is not one of: new, up, late, down, paused")]);
            Dictionary<string, string> filter = status is null ? [] : new() { ["status"] = status.ToLowerInvariant() };
            return TypedResults.Ok(await Paging.PageAsync<HeartbeatEntry, HeartbeatResponse>(listings, filter, take, skip, e => HeartbeatResponse.From(e.View)));
        });
        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IHeartbeatGrain>(id).GetAsync() is { } view ? TypedResults.Ok(HeartbeatResponse.From(view, withPings: true)) : ProblemResults.NotFound("heartbeat", id));
        group.MapPut("/{id}", async (string id, HeartbeatRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToCheck(id, errors) is not { } check) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IHeartbeatGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(check), "heartbeat", id) is { } problem) return problem;
            return TypedResults.Ok(HeartbeatResponse.From((await grain.GetAsync())!));
        });
        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IHeartbeatGrain>(id).DeleteAsync(), "heartbeat", id) ?? Results.NoContent());
        group.MapPost("/{id}/pause", (string id, IGrainFactory grains) => PauseAsync(id, grains, true));
        group.MapPost("/{id}/resume", (string id, IGrainFactory grains) => PauseAsync(id, grains, false));
        group.MapPost("/{id}/token", async (string id, HttpContext http, IGrainFactory grains) =>
        {
            var grain = grains.GetGrain<IHeartbeatGrain>(id);
            var (result, token) = await grain.RotateTokenAsync();
            if (ProblemResults.From(result, "heartbeat", id) is { } problem) return problem;
            return TypedResults.Ok(HeartbeatResponse.From((await grain.GetAsync())!) with { PingUrl = UrlOf(http, token!) });
        });

        string[] methods = ["GET", "HEAD", "POST"];
        app.MapMethods(PingPath + "/{token}", methods, (string token, HttpContext http, IGrainFactory grains) => PingAsync(token, PingKind.Success, null, http, grains)).WithTags("Heartbeats");
        app.MapMethods(PingPath + "/{token}/start", methods, (string token, HttpContext http, IGrainFactory grains) => PingAsync(token, PingKind.Start, null, http, grains)).WithTags("Heartbeats");
        app.MapMethods(PingPath + "/{token}/fail", methods, (string token, HttpContext http, IGrainFactory grains) => PingAsync(token, PingKind.Fail, null, http, grains)).WithTags("Heartbeats");
        app.MapMethods(PingPath + "/{token}/{code:int}", methods, (string token, int code, HttpContext http, IGrainFactory grains) =>
            code is < 0 or > 255 ? Task.FromResult(ProblemResults.Invalid([new("code", $"{code} is not an exit code (0 to 255)")]))
            : PingAsync(token, PingKind.Success, code, http, grains)).WithTags("Heartbeats");
    }

    private static async Task<IResult> PauseAsync(string id, IGrainFactory grains, bool paused)
    {
        var grain = grains.GetGrain<IHeartbeatGrain>(id);
        if (ProblemResults.From(await grain.PauseAsync(paused), "heartbeat", id) is { } problem) return problem;
        return TypedResults.Ok(HeartbeatResponse.From((await grain.GetAsync())!));
    }

    private static string UrlOf(HttpContext http, HeartbeatToken token) => $"{http.Request.Scheme}://{http.Request.Host}{PingPath}/{token.Token}";

    private static async Task<IResult> PingAsync(string token, PingKind kind, int? code, HttpContext http, IGrainFactory grains)
    {
        if (http.Request.ContentLength > HeartbeatCheck.MaxBodyBytes) return TooLarge();
        string? log = null;
        if (HttpMethods.IsPost(http.Request.Method))
        {
            var buffer = new byte[HeartbeatCheck.MaxBodyBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await http.Request.Body.ReadAsync(buffer.AsMemory(read))) > 0) read += n;
            if (read > HeartbeatCheck.MaxBodyBytes) return TooLarge();
            log = read == 0 ? null : new string(System.Text.Encoding.UTF8.GetString(buffer, 0, read).Where(c => !char.IsControl(c) || c is '\n' or '\t').ToArray());
        }
        var checkId = token.Length is >= 20 and <= 100 ? await grains.GetGrain<IHeartbeatTokenGrain>(HeartbeatGrainKeys.TokenHash(token)).CheckIdAsync() : null;
        if (checkId is null || !await grains.GetGrain<IHeartbeatGrain>(checkId).PingAsync(kind, code, log)) return ProblemResults.NotFound("ping URL", "(this link)");
        return Results.Text("OK\n");
    }

    private static IResult TooLarge() => Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The ping's body is too large",
        detail: $"A ping keeps at most the first {HeartbeatCheck.MaxLogLength} characters of its body, and takes at most {HeartbeatCheck.MaxBodyBytes} bytes.");
}
