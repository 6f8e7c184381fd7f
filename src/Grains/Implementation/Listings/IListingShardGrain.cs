namespace Monitoring.Listings;

/// <summary>
/// One shard of an embedded-mode listing. Each kind (servers, channels, alerts) is spread over a fixed number of
/// shards by a stable hash of the id, so listing asks a handful of shards instead of every grain.
/// </summary>
[Alias("mcp.IListingShardGrain")]
public interface IListingShardGrain : IGrainWithStringKey
{
    Task UpsertAsync(IListingEntry entry);

    Task RemoveAsync(string id);

    /// <summary>Every entry the query selects (not paged: the store merges the shards, then sorts and pages).</summary>
    [AlwaysInterleave]
    Task<IListingEntry[]> QueryAsync(ListingQuery query);

    /// <summary>Entry counts by the values of these fields, keyed by the values joined with '|'.</summary>
    [AlwaysInterleave]
    Task<Dictionary<string, int>> CountByAsync(string[] fields);
}

public static class ListingShards
{
    public const int Count = 16;

    public static string KeyFor(string kind, string id) => $"{kind}/{Shard(id)}";

    public static IEnumerable<string> AllKeys(string kind) => Enumerable.Range(0, Count).Select(i => $"{kind}/{i}");

    // FNV-1a: stable across processes and runs, unlike string.GetHashCode.
    public static int Shard(string id)
    {
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % Count);
    }
}

/// <summary>The embedded mode's listings: 16 shard grains per kind, by a stable hash of the id.</summary>
public sealed class GrainListingStore(IGrainFactory grains) : IListingStore
{
    public Task UpsertAsync<TEntry>(TEntry entry) where TEntry : IListingEntry<TEntry> =>
        Shard(ListingShards.KeyFor(TEntry.Kind, entry.Id)).UpsertAsync(entry);

    public Task RemoveAsync<TEntry>(string id) where TEntry : IListingEntry<TEntry> =>
        Shard(ListingShards.KeyFor(TEntry.Kind, id)).RemoveAsync(id);

    public async Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(ListingQuery query) where TEntry : IListingEntry<TEntry>
    {
        var shards = await Task.WhenAll(ListingShards.AllKeys(TEntry.Kind).Select(key => Shard(key).QueryAsync(query)));
        var all = query.Order(shards.SelectMany(s => s).OfType<TEntry>()).ToArray();
        return ([.. all.Skip(query.Skip).Take(query.Take)], all.Length);
    }

    public async Task<Dictionary<string, int>> CountByAsync<TEntry>(params string[] fields) where TEntry : IListingEntry<TEntry>
    {
        var shards = await Task.WhenAll(ListingShards.AllKeys(TEntry.Kind).Select(key => Shard(key).CountByAsync(fields)));
        return shards.SelectMany(s => s).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
    }

    private IListingShardGrain Shard(string key) => grains.GetGrain<IListingShardGrain>(key);
}
