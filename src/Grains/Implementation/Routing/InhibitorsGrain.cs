namespace Monitoring.Routing;

/// <summary>
/// The firing alerts that match some inhibition rule's source side, held in memory: each such alert says so when it
/// fires and when it stops, and again on its reminder, so a reactivated grain fills up again within a reminder period.
/// The version starts from the activation's clock, so a silo's cache never mistakes a new activation's set for one it has.
/// </summary>
[GrainType("inhibitors")]
public sealed class InhibitorsGrain(RoutingCache cache) : Grain, IInhibitorsGrain
{
    private readonly Dictionary<string, Dictionary<string, string>> _alerts = new(StringComparer.Ordinal);
    private InhibitorSet _set = new(DateTime.UtcNow.Ticks, []);

    public Task SetAsync(string alertId, Dictionary<string, string>? labels)
    {
        var changed = labels is null ? _alerts.Remove(alertId) : !_alerts.TryGetValue(alertId, out var known) || !Same(known, labels);
        if (labels is not null && changed) _alerts[alertId] = labels;
        if (changed)
        {
            _set = new InhibitorSet(_set.Version + 1, new Dictionary<string, Dictionary<string, string>>(_alerts, StringComparer.Ordinal));
            cache.Invalidate();
        }
        return Task.CompletedTask;
    }

    public Task<InhibitorSet?> GetIfChangedAsync(long knownVersion) => Task.FromResult(_set.Version == knownVersion ? null : _set);

    private static bool Same(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
