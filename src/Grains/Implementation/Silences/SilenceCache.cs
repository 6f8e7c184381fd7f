using Monitoring.Replication;

namespace Monitoring.Silences;

/// <summary>
/// This silo's copy of the silences (a <see cref="Replica{T}"/> of the catalog). The catalog gives every silo a change
/// before its write answers (<see cref="SilenceReplicas"/>); besides, the copy asks the catalog whether its version
/// moved at most once per <see cref="RefreshInterval"/>, for a silo that joined or missed a change, and matches locally.
/// </summary>
public sealed class SilenceCache(IGrainFactory grains)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Replica<SilenceSet> _replica = new(SilenceSet.Empty, set => set.Version,
        known => grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(known), TimeProvider.System, RefreshInterval);

    /// <summary>The copy as it is, without asking the catalog.</summary>
    public SilenceSet Known => _replica.Known;

    /// <summary>Takes a set the catalog sent, unless this copy is already newer.</summary>
    public void Accept(SilenceSet set) => _replica.Accept(set);

    /// <summary>The active silences matching these labels, latest-ending first.</summary>
    public async Task<Silence[]> MatchingAsync(IReadOnlyDictionary<string, string> labels, DateTimeOffset now) =>
        (await GetAsync()).Matching(labels, now);

    /// <summary>Every silence, as of at most <see cref="RefreshInterval"/> ago (or of the last change pushed to this silo).</summary>
    public Task<SilenceSet> GetAsync() => _replica.GetAsync();
}
