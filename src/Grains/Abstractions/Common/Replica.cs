namespace Monitoring.Replication;

/// <summary>
/// A process's copy (a silo's or the API's) of something versioned that one grain owns (the rules, the silences, the routing document, the
/// firing inhibitors, the API keys), read on every evaluation and changed rarely. It asks its owner whether the version
/// moved (<c>GetIfChanged(known)</c>, which answers null when not) at most once per refresh interval, and one ask at a
/// time however many callers read at once:
/// <list type="bullet">
/// <item>fresh (checked within the interval): the copy, no call;</item>
/// <item>stale: the copy at once, while one refresh runs behind it, so a storm of evaluations never waits on the owner
/// (or, made with <c>waitWhenStale</c>, after that one refresh);</item>
/// <item>never read or invalidated (a write on this process): callers wait for a refresh that began after the invalidation.</item>
/// </list>
/// An owner may also push a newer copy (<see cref="Accept"/>); a refresh that raced with a push never replaces it.
/// The interval is measured on the process's clock (<see cref="TimeProvider.System"/> in the product), not on the
/// product's time: it bounds how old a copy may be, whatever time the alerts are evaluated at.
/// </summary>
public sealed class Replica<T> where T : class
{
    private readonly Func<long, Task<T?>> _getIfChanged;
    private readonly Func<T, long> _versionOf;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private T _known;
    private long _checkedAt = Unchecked;
    private long _generation;
    private Task? _refreshing;
    private const long Unchecked = long.MinValue;

    private readonly bool _waitWhenStale;

    /// <param name="waitWhenStale">
    /// Readers of a stale copy wait for the refresh too (one ask still serves them all): for a decision that must not
    /// be taken on an old copy, such as whether a revoked key still works.
    /// </param>
    public Replica(T empty, Func<T, long> versionOf, Func<long, Task<T?>> getIfChanged, TimeProvider time, TimeSpan refreshInterval, bool waitWhenStale = false)
    {
        _waitWhenStale = waitWhenStale;
        _known = empty;
        _versionOf = versionOf;
        _getIfChanged = getIfChanged;
        _time = time;
        RefreshInterval = refreshInterval;
    }

    public TimeSpan RefreshInterval { get; }

    /// <summary>The copy as it is, without asking the owner.</summary>
    public T Known => Volatile.Read(ref _known);

    /// <summary>Takes a copy the owner pushed, unless this one is already as new.</summary>
    public void Accept(T value)
    {
        while (Volatile.Read(ref _known) is var known && _versionOf(value) > _versionOf(known))
        {
            if (Interlocked.CompareExchange(ref _known, value, known) == known) return;
        }
    }

    /// <summary>The next read waits for a copy asked for after this call (a write went through the owner on this process).</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        Volatile.Write(ref _checkedAt, Unchecked);
    }

    /// <summary>The copy, as of at most one refresh interval ago, or of the last invalidation.</summary>
    public async Task<T> GetAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var checkedAt = Volatile.Read(ref _checkedAt);
            if (checkedAt != Unchecked && _time.GetElapsedTime(checkedAt) < RefreshInterval) return Known;
            var refresh = Refresh();
            if (checkedAt != Unchecked && _waitWhenStale)
            {
                await refresh;
                return Known;
            }
            if (checkedAt != Unchecked)
            {
                // Stale: answer with the copy; the refresh's failure is logged by nobody and tried again next read.
                _ = refresh.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return Known;
            }
            await refresh;
            // A refresh that began before the invalidation does not count: wait for one that began after it.
            if (Volatile.Read(ref _checkedAt) != Unchecked || attempt >= 2) return Known;
        }
    }

    /// <summary>Asks the owner now (or joins the ask under way) and answers the copy after it: for a watcher that polls.</summary>
    public async Task<T> RefreshAsync()
    {
        await Refresh();
        return Known;
    }

    private Task Refresh()
    {
        lock (_gate)
        {
            // On the thread pool, not on the caller's scheduler: the one refresh serves every reader, and must not stall
            // when the grain that happened to start it is deactivated (as every grain is while a silo shuts down).
            return _refreshing ??= Task.Run(RunAsync);
        }

        async Task RunAsync()
        {
            try
            {
                var generation = Volatile.Read(ref _generation);
                var started = _time.GetTimestamp();
                var asked = Known;
                if (await _getIfChanged(_versionOf(asked)) is { } fresh && _versionOf(fresh) != _versionOf(asked))
                {
                    // Compared with what was asked about: a push that arrived meanwhile is newer, and stays.
                    Interlocked.CompareExchange(ref _known, fresh, asked);
                }
                if (Volatile.Read(ref _generation) == generation) Volatile.Write(ref _checkedAt, started);
            }
            finally
            {
                lock (_gate) _refreshing = null;
            }
        }
    }
}
