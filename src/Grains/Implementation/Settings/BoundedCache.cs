using System.Collections.Concurrent;

namespace Monitoring.Settings;

/// <summary>
/// A thread-safe cache that starts again rather than grow past <paramref name="limit"/> entries: for what is cheap to
/// make again (grain references, parsed templates, a message's links). It counts what it holds (added less removed)
/// instead of asking the dictionary, whose <c>Count</c> takes every one of its locks; the count can run a little high
/// when two threads add the same key at once, which only starts it again a little early.
/// </summary>
public sealed class BoundedCache<TKey, TValue>(int limit, IEqualityComparer<TKey>? comparer = null) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _entries = new(comparer);
    private int _added;

    public bool TryGetValue(TKey key, out TValue value) => _entries.TryGetValue(key, out value!);

    /// <summary>Keeps <paramref name="value"/> unless the key has one already; answers the one kept.</summary>
    public TValue GetOrAdd(TKey key, TValue value)
    {
        if (_entries.TryGetValue(key, out var kept)) return kept;
        if (Interlocked.Increment(ref _added) > limit)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _added, 0);
        }
        return _entries.GetOrAdd(key, value);
    }

    public void Remove(TKey key)
    {
        if (_entries.TryRemove(key, out _)) Interlocked.Decrement(ref _added);
    }

    /// <summary>How many entries are kept now (takes every lock: for tests and views, not a hot path).</summary>
    public int Count => _entries.Count;
}
