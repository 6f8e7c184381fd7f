using System.Diagnostics;

namespace Monitoring.Routing;

/// <summary>
/// This silo's copy of the routing document and of the firing alerts that may inhibit others. Each is refreshed by
/// asking its grain whether the version moved, at most once per <see cref="RefreshInterval"/>; a write through the
/// routing grain invalidates the copy of the silo it runs on at once.
/// </summary>
public sealed class RoutingCache
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    private readonly Lock _gate = new();
    private RoutingSet _set = RoutingSet.Empty;
    private long _checkedAt = long.MinValue;
    private Task? _refreshing;
    private long _generation;
    private InhibitorSet _inhibitors = new(0, []);
    private long _inhibitorsCheckedAt = long.MinValue;

    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        Volatile.Write(ref _checkedAt, long.MinValue);
        Volatile.Write(ref _inhibitorsCheckedAt, long.MinValue);
    }

    /// <summary>
    /// The routing document. After a write on this silo (or before the first read) callers wait for the fresh copy;
    /// once it is merely older than the refresh interval they go on with the copy they have while one refresh runs, so
    /// a storm of evaluations makes one call a second to the routing grain, never one each, and never waits on it.
    /// </summary>
    public async Task<RoutingSet> GetAsync(IGrainFactory grains)
    {
        for (var attempt = 0; ; attempt++)
        {
            var known = Volatile.Read(ref _set);
            var checkedAt = Volatile.Read(ref _checkedAt);
            if (checkedAt != long.MinValue && Stopwatch.GetElapsedTime(checkedAt) < RefreshInterval) return known;
            var refresh = Refresh(grains);
            if (checkedAt != long.MinValue) return known;
            await refresh;
            // A refresh that began before the invalidation does not count: wait for one that began after it.
            if (Volatile.Read(ref _checkedAt) != long.MinValue || attempt >= 2) return Volatile.Read(ref _set);
        }
    }

    private Task Refresh(IGrainFactory grains)
    {
        lock (_gate)
        {
            return _refreshing ??= RunAsync();
        }

        async Task RunAsync()
        {
            try
            {
                await Task.Yield();
                var generation = Volatile.Read(ref _generation);
                var started = Stopwatch.GetTimestamp();
                var known = Volatile.Read(ref _set);
                if (await grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(known.Version) is { } fresh && fresh.Version > known.Version)
                {
                    Volatile.Write(ref _set, fresh);
                }
                if (Volatile.Read(ref _generation) == generation) Volatile.Write(ref _checkedAt, started);
            }
            finally
            {
                lock (_gate) _refreshing = null;
            }
        }
    }

    /// <summary>Whether an alert with these labels could inhibit others, so the inhibitors grain should know it fires.</summary>
    public static bool IsSource(RoutingSet set, IReadOnlyDictionary<string, string> labels) =>
        set.Inhibitions.Any(rule => rule.SourceMatchers.All(m => m.Matches(labels)));

    /// <summary>The firing alert that inhibits one with these labels now, or null.</summary>
    public async Task<string?> InhibitedByAsync(IGrainFactory grains, string alertId, IReadOnlyDictionary<string, string> labels)
    {
        var set = await GetAsync(grains);
        if (!set.Inhibitions.Any(rule => rule.TargetMatchers.All(m => m.Matches(labels)))) return null;
        return Inhibition.InhibitedBy(set, await InhibitorsAsync(grains), alertId, labels);
    }

    private async Task<InhibitorSet> InhibitorsAsync(IGrainFactory grains)
    {
        var known = Volatile.Read(ref _inhibitors);
        var checkedAt = Volatile.Read(ref _inhibitorsCheckedAt);
        if (checkedAt == long.MinValue || Stopwatch.GetElapsedTime(checkedAt) >= RefreshInterval)
        {
            var started = Stopwatch.GetTimestamp();
            if (await grains.GetGrain<IInhibitorsGrain>(IInhibitorsGrain.Key).GetIfChangedAsync(known.Version) is { } fresh && fresh.Version != known.Version)
            {
                Interlocked.CompareExchange(ref _inhibitors, fresh, known);
                known = fresh;
            }
            Interlocked.CompareExchange(ref _inhibitorsCheckedAt, started, checkedAt);
        }
        return known;
    }
}
