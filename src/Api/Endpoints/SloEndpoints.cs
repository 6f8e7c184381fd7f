using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Listings;
using Monitoring.Servers;
using Monitoring.Slo;

namespace Monitoring.Api.Endpoints;

/// <summary>
/// Service-level objectives (<c>/api/slos</c>), listed by the least error budget remaining, each with a row per server
/// (<c>/api/slos/{id}</c>); and a server's long-range summary (<c>/api/servers/{id}/summary?window=24h|7d|30d</c>).
/// </summary>
public static class SloEndpoints
{
    public static void MapSloEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/slos").WithTags("SLOs")
            .Audited("slo", async (grains, id) => await grains.GetGrain<ISloGrain>(id).GetAsync() is { } v ? SloResponse.From(v) with { Rows = null } : null);
        group.MapPost("/", async (SloRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToDefinition(null, errors) is not { } slo) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<ISloGrain>(slo.Id);
            if (ProblemResults.From(await grain.CreateAsync(slo), "slo", slo.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/slos/{slo.Id}", SloResponse.From((await grain.GetAsync())!));
        });
        group.MapGet("/", async (IListingStore listings, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            var (items, total) = await listings.QueryAsync<SloEntry>(new ListingQuery(take, skip) { SortBy = "budget" });
            return TypedResults.Ok(new Page<SloResponse>([.. items.Select(SloResponse.From)], total, take, skip));
        });
        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<ISloGrain>(id).GetAsync() is { } view ? TypedResults.Ok(SloResponse.From(view)) : ProblemResults.NotFound("slo", id));
        group.MapPut("/{id}", async (string id, SloRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToDefinition(id, errors) is not { } slo) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<ISloGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(slo), "slo", id) is { } problem) return problem;
            return TypedResults.Ok(SloResponse.From((await grain.GetAsync())!));
        });
        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<ISloGrain>(id).DeleteAsync(), "slo", id) ?? Results.NoContent());
        group.MapPost("/{id}/evaluate", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<ISloGrain>(id).EvaluateNowAsync() is { } view ? TypedResults.Ok(SloResponse.From(view)) : ProblemResults.NotFound("slo", id));

        app.MapGet("/api/servers/{id}/summary", async (string id, string? window, IGrainFactory grains) =>
        {
            window ??= "24h";
            if (!ServerSummaryResponse.Windows.TryGetValue(window, out var span))
            {
                return ProblemResults.Invalid([new("window", $"'{window}' is not one of: {string.Join(", ", ServerSummaryResponse.Windows.Keys)}")]);
            }
            return await grains.GetGrain<IMcpServerGrain>(id).GetSummaryAsync(span) is { } summary
                ? TypedResults.Ok(ServerSummaryResponse.From(window, summary))
                : ProblemResults.NotFound("server", id);
        }).WithTags("Servers");
    }
}
