using Monitoring.Replication;

namespace Monitoring.Routing;

/// <summary>
/// This silo's copies (each a <see cref="Replica{T}"/>) of the routing document and of the firing alerts that may
/// inhibit others. A write through the routing grain, or a change of the inhibitors on this silo, invalidates the copy
/// at once; otherwise each asks its grain whether the version moved at most once per <see cref="RefreshInterval"/>.
/// </summary>
public sealed class RoutingCache
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    private readonly Replica<RoutingSet> _routing;
    private readonly Replica<InhibitorSet> _inhibitors;

    public RoutingCache(IGrainFactory grains)
    {
        _routing = new(RoutingSet.Empty, set => set.Version,
            known => grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(known), TimeProvider.System, RefreshInterval);
        // The inhibitors' version starts from their activation's clock, so any other version than the one known is news.
        _inhibitors = new(new InhibitorSet(0, []), set => set.Version,
            known => grains.GetGrain<IInhibitorsGrain>(IInhibitorsGrain.Key).GetIfChangedAsync(known), TimeProvider.System, RefreshInterval);
    }

    public void Invalidate()
    {
        _routing.Invalidate();
        _inhibitors.Invalidate();
    }

    /// <summary>The routing document, as of at most a refresh interval ago, or of the last write on this silo.</summary>
    public Task<RoutingSet> GetAsync() => _routing.GetAsync();

    /// <summary>The firing alert that inhibits one with these labels now, or null.</summary>
    public async Task<string?> InhibitedByAsync(string alertId, IReadOnlyDictionary<string, string> labels)
    {
        var set = await GetAsync();
        if (!set.Inhibitions.Any(rule => rule.TargetMatchers.All(m => m.Matches(labels)))) return null;
        return Inhibition.InhibitedBy(set, await _inhibitors.GetAsync(), alertId, labels);
    }
}
