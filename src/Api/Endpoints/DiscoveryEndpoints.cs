using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Discovery;
using Monitoring.Listings;

namespace Monitoring.Api.Endpoints;

/// <summary>Discovery sources (<c>/api/discovery/sources</c>): made, listed, changed, deleted (admin), and polled on demand.</summary>
public static class DiscoveryEndpoints
{
    public static void MapDiscoveryEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/discovery/sources").WithTags("Discovery")
            .Audited("discovery-source", async (grains, id) => await grains.GetGrain<IDiscoverySourceGrain>(id).GetAsync() is { } v ? DiscoverySourceResponse.From(v) : null);
        group.MapPost("/", async (DiscoverySourceRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToSource(null, errors) is not { } source) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IDiscoverySourceGrain>(source.Id);
            if (ProblemResults.From(await grain.CreateAsync(source), "discovery source", source.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/discovery/sources/{source.Id}", DiscoverySourceResponse.From((await grain.GetAsync())!));
        });
        group.MapGet("/", async (IListingStore listings, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            return TypedResults.Ok(await Paging.PageAsync<DiscoveryEntry, DiscoverySourceResponse>(listings, [], take, skip, e => DiscoverySourceResponse.From(e.View)));
        });
        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IDiscoverySourceGrain>(id).GetAsync() is { } view ? TypedResults.Ok(DiscoverySourceResponse.From(view)) : ProblemResults.NotFound("discovery source", id));
        group.MapPut("/{id}", async (string id, DiscoverySourceRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToSource(id, errors) is not { } source) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IDiscoverySourceGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(source), "discovery source", id) is { } problem) return problem;
            return TypedResults.Ok(DiscoverySourceResponse.From((await grain.GetAsync())!));
        });
        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IDiscoverySourceGrain>(id).DeleteAsync(), "discovery source", id) ?? Results.NoContent());
        group.MapPost("/{id}/sync", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IDiscoverySourceGrain>(id).SyncAsync() is { } view ? TypedResults.Ok(DiscoverySourceResponse.From(view)) : ProblemResults.NotFound("discovery source", id));
    }
}
