using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Microsoft.Extensions.Options;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Listings;
using Monitoring.Servers;

namespace Monitoring.Api.Endpoints;

public static class ServerEndpoints
{
    public static void MapServerEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/servers").WithTags("Servers")
            .Audited("server", async (grains, id) => await grains.GetGrain<IMcpServerGrain>(id).GetAsync() is { } s ? ServerResponse.From(s) : null);

        group.MapPost("/", async (ServerRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToServer(null, errors) is not { } server) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IMcpServerGrain>(server.Id);
            if (ProblemResults.From(await grain.RegisterAsync(server), "server", server.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/servers/{server.Id}", ServerResponse.From((await grain.GetAsync())!));
        });

        // The fleet: every server with its verdict, main metrics and open alerts, filtered, sorted and paged by the
        // listing store (one indexed query in production): "which of my 5,000 servers are unhealthy?" is one call.
        group.MapGet("/", async (IListingStore listings, string? health, string[]? label, string? q, string? sort, string? order, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (ServerQuery.From(health, label, q, sort, order, limit, offset, errors) is not { } query) return ProblemResults.Invalid(errors.ToArray());
            var (items, total) = await listings.QueryAsync<ServerEntry>(query);
            return TypedResults.Ok(new Page<ServerListItem>([.. items.Select(ServerListItem.From)], total, query.Take, query.Skip));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IMcpServerGrain>(id).GetStatusAsync() is { } status
                ? TypedResults.Ok(ServerStatusResponse.From(status))
                : ProblemResults.NotFound("server", id));

        // Runs the probe, scrape and health read now ("test connection") and answers with the status that follows.
        group.MapPost("/{id}/check", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IMcpServerGrain>(id).CheckNowAsync() is { } status
                ? TypedResults.Ok(ServerStatusResponse.From(status))
                : ProblemResults.NotFound("server", id));

        group.MapPut("/{id}", async (string id, ServerRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToServer(id, errors) is not { } server) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IMcpServerGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(server, request.KeepsProbeHeaders), "server", id) is { } problem) return problem;
            return TypedResults.Ok(ServerResponse.From((await grain.GetAsync())!));
        });

        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IMcpServerGrain>(id).DeleteAsync() ? Results.NoContent() : ProblemResults.NotFound("server", id));

        group.MapPost("/{id}/telemetry", async (string id, TelemetryRequest request, IGrainFactory grains, IOptions<TelemetryLimits> options, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToBatch(options.Value.MaxTelemetryBatch, time.GetUtcNow(), errors) is not { } batch) return ProblemResults.Invalid(errors.ToArray());
            var result = await grains.GetGrain<IMcpServerGrain>(id).IngestAsync(batch);
            if (!result.Found) return ProblemResults.NotFound("server", id);
            if (result.Unreached > 0)
            {
                // Accepted means the breach reached its alert; this one did not (its silo is failing over): send it again.
                return ProblemResults.Unavailable(
                    $"{result.Unreached} breached rules could not reach their alerts while the cluster fails over; the push was not accepted: send it again.");
            }
            return TypedResults.Accepted($"/api/servers/{id}", new TelemetryResponse(result.Accepted, result.Dropped));
        });
    }
}
