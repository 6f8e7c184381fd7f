using Monitoring.Alerts;
using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Servers;

namespace Monitoring.Api.Endpoints;

/// <summary>The cluster as Orleans' membership sees it, and where a grain lives: for operators, and for failover drills.</summary>
public static class ClusterEndpoints
{
    public sealed record SiloResponse(string Address, string Name, string Status, DateTimeOffset StartedAt);

    public sealed record ActivationResponse(string Kind, string Id, string? Silo);

    public static void MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cluster").WithTags("Cluster");

        group.MapGet("/", async (IGrainFactory grains) =>
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
            return TypedResults.Ok(new
            {
                silos = hosts.OrderBy(h => h.SiloAddress.ToString(), StringComparer.Ordinal)
                    .Select(h => new SiloResponse(h.SiloAddress.ToString(), h.SiloName, h.Status.ToString().ToLowerInvariant(), h.StartTime))
                    .ToArray(),
            });
        });

        // Where a grain is active now (null when it is not active anywhere); asking does not activate it.
        group.MapGet("/activations/{kind}/{id}", async (string kind, string id, IGrainFactory grains) =>
        {
            IAddressable? grain = kind switch
            {
                "alert" when AlertIds.TryParse(id, out _, out _) => grains.GetGrain<IAlertGrain>(id),
                "server" => grains.GetGrain<IMcpServerGrain>(id),
                "channel" => grains.GetGrain<INotificationChannelGrain>(id),
                "incident" when Routing.RouteTree.IsIncidentId(id) => grains.GetGrain<Routing.IIncidentGrain>(id),
                "incidentindex" when id == Routing.IIncidentIndexGrain.Key => grains.GetGrain<Routing.IIncidentIndexGrain>(id),
                _ => null,
            };
            if (grain is null)
            {
                return ProblemResults.Invalid([new Common.FieldError("kind", $"'{kind}' is not one of: alert, server, channel, incident, incidentindex (or the id is not valid)")]);
            }
            var silo = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
            return TypedResults.Ok(new ActivationResponse(kind, id, silo?.ToString()));
        });
    }
}
