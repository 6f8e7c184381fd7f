using System.Diagnostics;

namespace Monitoring.Silences;

/// <summary>
/// This silo's copy of the silences. The catalog gives every silo a change before its write answers
/// (<see cref="SilenceReplicas"/>); besides, a lookup asks the catalog whether its version moved (an interleaved call
/// that answers null when nothing changed) at most once per <see cref="RefreshInterval"/>, for a silo that joined or
/// missed a change, and matches locally.
/// </summary>
public sealed class SilenceCache
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    private SilenceSet _set = SilenceSet.Empty;
    private long _checkedAt = long.MinValue;

    /// <summary>The copy as it is, without asking the catalog.</summary>
    public SilenceSet Known => Volatile.Read(ref _set);

    /// <summary>Takes a set the catalog sent, unless this copy is already newer.</summary>
    public void Accept(SilenceSet set)
    {
        while (Volatile.Read(ref _set) is var known && set.Version > known.Version)
        {
            if (Interlocked.CompareExchange(ref _set, set, known) == known) break;
        }
    }

    /// <summary>The active silences matching these labels, latest-ending first.</summary>
    public async Task<Silence[]> MatchingAsync(IGrainFactory grains, IReadOnlyDictionary<string, string> labels, DateTimeOffset now) =>
        (await GetAsync(grains)).Matching(labels, now);

    /// <summary>Every silence, as of at most <see cref="RefreshInterval"/> ago (or of the last write on this silo).</summary>
    public async Task<SilenceSet> GetAsync(IGrainFactory grains)
    {
        var known = Volatile.Read(ref _set);
        var checkedAt = Volatile.Read(ref _checkedAt);
        if (checkedAt == long.MinValue || Stopwatch.GetElapsedTime(checkedAt) >= RefreshInterval)
        {
            var started = Stopwatch.GetTimestamp();
            if (await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(known.Version) is { } fresh
                && fresh.Version > known.Version)
            {
                Interlocked.CompareExchange(ref _set, fresh, known);
                known = fresh;
            }
            Interlocked.CompareExchange(ref _checkedAt, started, checkedAt);
        }
        return known;
    }
}
