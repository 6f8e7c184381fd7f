namespace Monitoring.Indexing;

/// <summary>An index entry: an id, a version to order updates, and the fields a listing can filter on.</summary>
public interface IIndexEntry
{
    string Id { get; }

    long Version { get; }

    string? Field(string name);

    /// <summary>Every field a listing can filter on, for stores that index them (PostgreSQL).</summary>
    Dictionary<string, string> Fields();
}

/// <summary>
/// One shard of a listing index. Each kind (servers, channels, alerts) is spread over a fixed number of
/// shards by a stable hash of the id, so listing asks a handful of shards instead of every grain.
/// </summary>
public interface IIndexGrain<TEntry> : IGrainWithStringKey where TEntry : IIndexEntry
{
    Task UpsertAsync(TEntry entry);

    Task RemoveAsync(string id);

    /// <summary>Entries whose fields equal every filter value, sorted by id.</summary>
    [AlwaysInterleave]
    Task<TEntry[]> QueryAsync(Dictionary<string, string> filter);

    /// <summary>Entry counts by the values of these fields, keyed by the values joined with '|'.</summary>
    [AlwaysInterleave]
    Task<Dictionary<string, int>> CountByAsync(string[] fields);
}

public static class IndexShards
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
