using Monitoring.Settings;

namespace Monitoring.Tests.Replication;

/// <summary>
/// The bound the silo-local caches keep (grain references, parsed templates, action links): it counts what it holds, so
/// entries let go make room, and past the limit it starts again rather than grow.
/// </summary>
public sealed class BoundedCacheTests
{
    [Fact]
    public void It_keeps_the_first_value_of_a_key_and_starts_again_past_its_limit()
    {
        var cache = new BoundedCache<string, int>(3, StringComparer.Ordinal);
        Assert.Equal(1, cache.GetOrAdd("a", 1));
        Assert.Equal(1, cache.GetOrAdd("a", 2)); // the first value stays
        cache.GetOrAdd("b", 2);
        Assert.Equal(2, cache.Count);

        cache.GetOrAdd("c", 3);
        cache.GetOrAdd("d", 4); // the fifth add passes the limit of 3: the cache starts again with this one

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGetValue("d", out var d) && d == 4);
        Assert.False(cache.TryGetValue("a", out _));
    }

    /// <summary>
    /// Messages' links are let go when their delivery is final: a cache that keeps adding and letting go never passes its
    /// limit, so the links a pending retry needs are not dropped by a clear.
    /// </summary>
    [Fact]
    public void Entries_let_go_make_room()
    {
        var cache = new BoundedCache<string, int>(3, StringComparer.Ordinal);
        cache.GetOrAdd("pending", 0);
        for (var i = 0; i < 100; i++)
        {
            cache.GetOrAdd($"m{i}", i);
            cache.Remove($"m{i}");
        }
        cache.Remove("never-added"); // letting go of what is not there counts nothing

        Assert.True(cache.TryGetValue("pending", out _));
        Assert.Equal(1, cache.Count);
    }
}
