using Monitoring.Api.Telemetry;
using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Microsoft.Extensions.Options;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Common;
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
            if (ProblemResults.From(await ServerShards.RegisterAsync(grains, server), "server", server.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/servers/{server.Id}", ServerResponse.From((await grain.GetAsync())!));
        });

        // Apply a fleet in one request: every server is created, or replaced when it exists. All are checked first; one
        // invalid server refuses the whole request and changes nothing. Applying again is harmless, so a request cut
        // short (503) is sent again whole.
        group.MapPost("/bulk", async (BulkServersRequest request, IGrainFactory grains, IOptions<TelemetryLimits> limits) =>
        {
            var errors = new RequestErrors();
            var max = limits.Value.MaxBulkServers;
            if (request.Servers is not { Length: > 0 } items || items.Length > max)
            {
                return ProblemResults.Invalid([new FieldError("servers", $"is required: 1 to {max} servers, each as POST /api/servers takes it")]);
            }
            var servers = new List<(McpServer Server, bool KeepsProbeHeaders)>(items.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < items.Length; i++)
            {
                var one = new RequestErrors();
                if (items[i] is not { } item)
                {
                    errors.Add($"servers[{i}]", "is null; expected a server");
                    continue;
                }
                if (item.ToServer(null, one) is { } server)
                {
                    if (seen.Add(server.Id)) servers.Add((server, item.KeepsProbeHeaders));
                    else errors.Add($"servers[{i}].id", $"'{server.Id}' is given twice");
                }
                errors.AddRange(one.ToArray().Select(e => e with { Field = $"servers[{i}].{e.Field}" }));
                if (errors.ToArray().Length >= 100) break; // enough to act on
            }
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            // The outbound policy's refusals too, before anything is written (every item was valid, so the indices match).
            var unreachable = await grains.GetGrain<IServerAddressCheckGrain>(0).CheckAsync([.. servers.Select(s => s.Server)]);
            if (unreachable.Length > 0) return ProblemResults.Invalid(unreachable);
            // Into their shards first, one write a shard: each registration then finds itself listed there.
            await Task.WhenAll(servers.GroupBy(s => ServerShards.Of(s.Server.Id))
                .Select(shard => grains.GetGrain<IServerShardGrain>(shard.Key).AddManyAsync([.. shard.Select(s => s.Server.Id)])));
            var created = 0;
            var updated = 0;
            var refused = new System.Collections.Concurrent.ConcurrentBag<FieldError>();
            await Parallel.ForEachAsync(servers, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (entry, _) =>
            {
                var grain = grains.GetGrain<IMcpServerGrain>(entry.Server.Id);
                var result = await grain.RegisterAsync(entry.Server);
                if (result.Succeeded)
                {
                    Interlocked.Increment(ref created);
                    return;
                }
                if (result.Outcome == WriteOutcome.Duplicate) result = await grain.UpdateAsync(entry.Server, entry.KeepsProbeHeaders);
                if (result.Succeeded) Interlocked.Increment(ref updated);
                else foreach (var e in result.Errors) refused.Add(e with { Field = $"{entry.Server.Id}.{e.Field}" });
            });
            // Only a change of policy between the check and the writes gets here; what was applied stays applied.
            if (!refused.IsEmpty) return ProblemResults.Invalid([.. refused.OrderBy(e => e.Field, StringComparer.Ordinal).Take(100)]);
            return TypedResults.Ok(new BulkServersResponse(servers.Count, created, updated));
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

        group.MapPost("/{id}/telemetry", async (string id, TelemetryRequest request, TelemetryIngest ingest, IOptions<TelemetryLimits> options, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToBatch(options.Value.MaxTelemetryBatch, time.GetUtcNow(), errors) is not { } batch) return ProblemResults.Invalid(errors.ToArray());
            var result = await ingest.IngestAsync(id, batch);
            return result.Outcome switch
            {
                IngestOutcome.UnknownServer => ProblemResults.NotFound("server", id),
                IngestOutcome.Resend => ProblemResults.Unavailable(TelemetryIngest.ResendDetail([result]), TelemetryIngest.RetryAfterSeconds),
                _ => TypedResults.Accepted($"/api/servers/{id}", new TelemetryResponse(result.Accepted, result.Dropped)),
            };
        });
    }

    /// <summary>
    /// Telemetry for many servers in one request (a collector, a gateway). With an operator key (or in the open mode)
    /// any registered server; without a key every server's part must carry that server's own ingest token, or nothing
    /// is taken. Everything is checked before anything is ingested.
    /// </summary>
    public static void MapBulkTelemetryEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapPost(AuthMiddleware.BulkTelemetryPath, async (BulkTelemetryRequest request, HttpContext http, IGrainFactory grains, TelemetryIngest ingest,
            IOptions<TelemetryLimits> options, TimeProvider time, AuthMode mode) =>
        {
            var limits = options.Value;
            var tokensRequired = mode.Required && !http.User.Can(Monitoring.Security.Role.Operator);
            var items = request.Servers ?? [];
            if (tokensRequired && (items.Length == 0 || items.Any(i => i?.Token is not { Length: > 0 })))
            {
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required",
                    detail: "Send an operator's API key, or every server's own ingest token in its \"token\".");
            }
            if (items.Length == 0 || items.Length > limits.MaxBulkTelemetryServers)
            {
                return ProblemResults.Invalid([new FieldError("servers", $"is required: 1 to {limits.MaxBulkTelemetryServers} servers, each {{\"serverId\",\"token\",\"telemetry\"}}")]);
            }
            var errors = new RequestErrors();
            var now = time.GetUtcNow();
            var batches = new List<(string ServerId, string? Token, TelemetryBatch Batch)>(items.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < items.Length && errors.ToArray().Length < 100; i++)
            {
                if (items[i] is not { } item)
                {
                    errors.Add($"servers[{i}]", "is null; expected {\"serverId\",\"token\",\"telemetry\"}");
                    continue;
                }
                if (!Ids.IsValid(item.ServerId)) errors.Add($"servers[{i}].serverId", $"is required: {Ids.Describe}");
                else if (!seen.Add(item.ServerId!)) errors.Add($"servers[{i}].serverId", $"'{item.ServerId}' is given twice; send its records in one part");
                if (item.Token is { Length: > 512 }) errors.Add($"servers[{i}].token", "is at most 512 characters");
                var one = new RequestErrors();
                var batch = (item.Telemetry ?? new TelemetryRequest(null, null)).ToBatch(limits.MaxTelemetryBatch, now, one);
                errors.AddRange(one.ToArray().Select(e => e with { Field = $"servers[{i}].telemetry.{e.Field}" }));
                if (batch is not null && Ids.IsValid(item.ServerId)) batches.Add((item.ServerId!, item.Token, batch));
            }
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            if (tokensRequired)
            {
                var accepted = await Task.WhenAll(batches.Select(b => grains.GetGrain<IMcpServerGrain>(b.ServerId)
                    .AcceptsIngestTokenAsync(Monitoring.Security.KeyMaterial.Hash(b.Token!))));
                if (accepted.Any(ok => !ok))
                {
                    var refused = batches.Where((_, i) => !accepted[i]).Select(b => b.ServerId).Take(20);
                    return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                        detail: $"An ingest token may only push telemetry to its own server; refused for: {string.Join(", ", refused)}. Nothing was taken.");
                }
            }
            // A bulk push is many servers' pushes: it is answered 202 and names the servers whose part to send again.
            var results = await ingest.IngestAsync([.. batches.Select(b => (b.ServerId, b.Batch))]);
            return TypedResults.Accepted("/api/servers", new BulkTelemetryResponse(
                batches.Count, results.Sum(r => r.Accepted), results.Sum(r => r.Dropped),
                [.. results.Where(r => r.Outcome == IngestOutcome.UnknownServer).Select(r => r.ServerId)],
                [.. results.Where(r => r.Outcome == IngestOutcome.Resend).Select(r => r.ServerId)]));
        }).WithTags("Servers");
    }
}
