using Monitoring.Settings;

namespace Monitoring.Routing;

/// <summary>The firing alerts that match some inhibition rule's source side, by alert id, with their labels.</summary>
[GenerateSerializer, Alias("mcp.InhibitorsState")]
public sealed class InhibitorsState
{
    [Id(0), JsonPropertyName("Alerts")] public Dictionary<string, Dictionary<string, string>> Alerts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The firing alerts that match some inhibition rule's source side: each such alert says so when it fires and when it
/// stops, and again once a reminder period. The set is stored behind (within a second), so an activation lost with its
/// silo comes back holding it: a target alert firing just after the move is inhibited as before, not paged for the
/// reminder period it would take the sources to say themselves again. The version starts from the activation's clock,
/// so a silo's cache never mistakes a new activation's set for one it has.
/// </summary>
[GrainType("inhibitors")]
public sealed class InhibitorsGrain(
    [PersistentState("inhibitors", StorageNames.Rules)] IPersistentState<InhibitorsState> state,
    RoutingCache cache,
    ILogger<InhibitorsGrain> logger)
    : Grain, IInhibitorsGrain
{
    private InhibitorSet? _set;
    private WriteBehind? _writeBehind;

    private Dictionary<string, Dictionary<string, string>> Alerts => state.State.Alerts;

    private InhibitorSet Set => _set ??= new InhibitorSet(DateTime.UtcNow.Ticks, new Dictionary<string, Dictionary<string, string>>(Alerts, StringComparer.Ordinal));

    public Task SetAsync(string alertId, Dictionary<string, string>? labels)
    {
        var changed = labels is null ? Alerts.Remove(alertId) : !Alerts.TryGetValue(alertId, out var known) || !Same(known, labels);
        if (labels is not null && changed) Alerts[alertId] = labels;
        if (changed)
        {
            _set = new InhibitorSet(Set.Version + 1, new Dictionary<string, Dictionary<string, string>>(Alerts, StringComparer.Ordinal));
            cache.Invalidate();
            Writes.Mark();
        }
        return Task.CompletedTask;
    }

    public Task<InhibitorSet?> GetIfChangedAsync(long knownVersion) => Task.FromResult(Set.Version == knownVersion ? null : Set);

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        Writes.Pending ? Writes.WriteAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>A storm of sources starting and stopping is one write a second, not one each.</summary>
    private WriteBehind Writes => _writeBehind ??= WriteBehind.Retrying(this, token => state.WriteStateAsync(token), TimeSpan.FromSeconds(1), logger, "The firing inhibitors");

    private static bool Same(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
