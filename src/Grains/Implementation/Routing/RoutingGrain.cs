using Monitoring.Common;
using Monitoring.Settings;

namespace Monitoring.Routing;

[GenerateSerializer, Alias("mcp.RoutingState")]
public sealed class RoutingState
{
    [Id(0), JsonPropertyName("Set")] public RoutingSet Set { get; set; } = RoutingSet.Empty;
}

/// <summary>
/// The routing tree, receivers, time intervals and inhibition rules, as one versioned document. Reads go through each
/// silo's <see cref="RoutingCache"/>. Every write keeps the document whole: a route never names a time interval that
/// does not exist, and an interval in use cannot be deleted.
/// </summary>
[GrainType("routing")]
public sealed class RoutingGrain(
    [PersistentState("routing", StorageNames.Rules)] IPersistentState<RoutingState> state,
    RoutingCache cache,
    ILogger<RoutingGrain> logger)
    : Grain, IRoutingGrain
{
    public const int MaxTimeIntervals = 1000;
    public const int MaxInhibitions = 1000;
    private RoutingSet Set => state.State.Set;

    public Task<RoutingSet?> GetIfChangedAsync(long knownVersion) => Task.FromResult(Set.Version == knownVersion ? null : Set);

    public async Task<WriteResult> SetTreeAsync(Route root, Receiver[] receivers)
    {
        var known = Set.TimeIntervals.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var errors = new List<FieldError>();
        foreach (var (path, route) in RouteTree.All(root))
        {
            var field = RouteTree.Field(path);
            for (var i = 0; i < route.MuteTimeIntervals.Length; i++)
            {
                if (!known.Contains(route.MuteTimeIntervals[i])) errors.Add(new($"{field}muteTimeIntervals[{i}]", $"'{route.MuteTimeIntervals[i]}' is not a time interval; create it first (/api/time-intervals)"));
            }
            for (var i = 0; i < route.ActiveTimeIntervals.Length; i++)
            {
                if (!known.Contains(route.ActiveTimeIntervals[i])) errors.Add(new($"{field}activeTimeIntervals[{i}]", $"'{route.ActiveTimeIntervals[i]}' is not a time interval; create it first (/api/time-intervals)"));
            }
        }
        if (errors.Count > 0) return WriteResult.Invalid([.. errors]);
        await PublishAsync(Set with { Root = root, Receivers = receivers });
        logger.LogInformation("Routing tree replaced: {Routes} routes, {Receivers} receivers", RouteTree.All(root).Count(), receivers.Length);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> PutTimeIntervalAsync(TimeInterval interval, bool create)
    {
        var exists = Set.TimeIntervals.Any(t => t.Name == interval.Name);
        if (create && exists) return WriteResult.Duplicate(interval.Name);
        if (!create && !exists) return WriteResult.NotFound;
        if (create && Set.TimeIntervals.Length >= MaxTimeIntervals) return WriteResult.Conflict($"there are already {MaxTimeIntervals} time intervals");
        await PublishAsync(Set with { TimeIntervals = [.. Set.TimeIntervals.Where(t => t.Name != interval.Name), interval] });
        return WriteResult.Ok;
    }

    public async Task<WriteResult> DeleteTimeIntervalAsync(string name)
    {
        if (Set.TimeIntervals.All(t => t.Name != name)) return WriteResult.NotFound;
        if (RouteTree.All(Set.Root).FirstOrDefault(r => r.Route.MuteTimeIntervals.Contains(name) || r.Route.ActiveTimeIntervals.Contains(name)) is { Route: not null } user)
        {
            return WriteResult.Conflict($"time interval '{name}' is used by the route {user.Path}; change the routing tree first");
        }
        await PublishAsync(Set with { TimeIntervals = [.. Set.TimeIntervals.Where(t => t.Name != name)] });
        return WriteResult.Ok;
    }

    public async Task<WriteResult> PutInhibitionAsync(InhibitRule rule, bool create)
    {
        var exists = Set.Inhibitions.Any(i => i.Id == rule.Id);
        if (create && exists) return WriteResult.Duplicate(rule.Id);
        if (!create && !exists) return WriteResult.NotFound;
        if (create && Set.Inhibitions.Length >= MaxInhibitions) return WriteResult.Conflict($"there are already {MaxInhibitions} inhibition rules");
        await PublishAsync(Set with { Inhibitions = [.. Set.Inhibitions.Where(i => i.Id != rule.Id), rule] });
        return WriteResult.Ok;
    }

    public async Task<WriteResult> DeleteInhibitionAsync(string id)
    {
        if (Set.Inhibitions.All(i => i.Id != id)) return WriteResult.NotFound;
        await PublishAsync(Set with { Inhibitions = [.. Set.Inhibitions.Where(i => i.Id != id)] });
        return WriteResult.Ok;
    }

    private async Task PublishAsync(RoutingSet next)
    {
        state.State.Set = next with { Version = Set.Version + 1 };
        await state.WriteStateAsync();
        cache.Invalidate();
    }
}
