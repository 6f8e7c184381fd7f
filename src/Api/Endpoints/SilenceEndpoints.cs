using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Silences;

namespace Monitoring.Api.Endpoints;

public static class SilenceEndpoints
{
    public static void MapSilenceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/silences").WithTags("Silences")
            .Audited("silence", async (grains, id) => (await AllAsync(grains)).FirstOrDefault(s => s.Id == id) is { } silence
                ? SilenceResponse.From(silence, DateTimeOffset.UtcNow)
                : null);

        group.MapPost("/", async (SilenceRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            var id = Guid.NewGuid().ToString("N");
            var now = time.GetUtcNow();
            if (request.ToSilence(id, now, errors) is not { } silence) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await Catalog(grains).CreateAsync(silence), "silence", id) is { } problem) return problem;
            return TypedResults.Created($"/api/silences/{id}", SilenceResponse.From(silence, now));
        });

        group.MapGet("/", async (IGrainFactory grains, TimeProvider time, string? state, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            SilenceState? wanted = null;
            if (state is not null)
            {
                if (Enum.TryParse<SilenceState>(state, true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(state, out _)) wanted = parsed;
                else errors.Add("state", $"'{state}' is not a silence state; expected one of: pending, active, expired");
            }
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip) || errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var now = time.GetUtcNow();
            var all = await AllAsync(grains);
            return TypedResults.Ok(Page<SilenceResponse>.Of([.. all.Where(s => wanted is null || s.StateAt(now) == wanted)
                .OrderBy(s => s.StateAt(now)).ThenByDescending(s => s.EndsAt)
                .Select(s => SilenceResponse.From(s, now))], take, skip));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains, TimeProvider time) =>
            (await AllAsync(grains)).FirstOrDefault(s => s.Id == id) is { } silence
                ? TypedResults.Ok(SilenceResponse.From(silence, time.GetUtcNow()))
                : ProblemResults.NotFound("silence", id));

        group.MapPut("/{id}", async (string id, SilenceRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            var now = time.GetUtcNow();
            if ((await AllAsync(grains)).All(s => s.Id != id)) return ProblemResults.NotFound("silence", id);
            if (request.ToSilence(id, now, errors) is not { } silence) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await Catalog(grains).UpdateAsync(silence), "silence", id) is { } problem) return problem;
            return TypedResults.Ok(SilenceResponse.From(silence, now));
        });

        // Expiring is how a silence ends early; it stays listed as expired, as in Alertmanager.
        group.MapDelete("/{id}", (string id, IGrainFactory grains, TimeProvider time) => ExpireAsync(id, grains, time));
        group.MapPost("/{id}/expire", (string id, IGrainFactory grains, TimeProvider time) => ExpireAsync(id, grains, time));
    }

    private static async Task<IResult> ExpireAsync(string id, IGrainFactory grains, TimeProvider time)
    {
        if (ProblemResults.From(await Catalog(grains).ExpireAsync(id), "silence", id) is { } problem) return problem;
        var silence = (await AllAsync(grains)).First(s => s.Id == id);
        return TypedResults.Ok(SilenceResponse.From(silence, time.GetUtcNow()));
    }

    private static ISilenceCatalogGrain Catalog(IGrainFactory grains) => grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key);

    private static async Task<Silence[]> AllAsync(IGrainFactory grains) => (await Catalog(grains).GetIfChangedAsync(-1))?.Silences ?? [];
}
