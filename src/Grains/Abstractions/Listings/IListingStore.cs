namespace Monitoring.Listings;

/// <summary>A listed entry: an id, a version to order updates, and the fields a listing can filter on.</summary>
public interface IListingEntry
{
    string Id { get; }

    long Version { get; }

    string? Field(string name);

    /// <summary>Every field a listing can filter on, for stores that index them (PostgreSQL).</summary>
    Dictionary<string, string> Fields();
}

/// <summary>An entry of one listing; <see cref="Kind"/> names it ("servers", "alerts"…), also in the listing table.</summary>
public interface IListingEntry<TSelf> : IListingEntry where TSelf : IListingEntry<TSelf>
{
    static abstract string Kind { get; }
}

/// <summary>
/// Where listings come from. Grains write their entry when it changes; the API lists, filters and pages. The
/// embedded mode keeps entries in sharded grains; production keeps them in a PostgreSQL table (a projection of the
/// grains), so a listing is one indexed query whatever the number of grains.
/// </summary>
public interface IListingStore
{
    Task UpsertAsync<TEntry>(TEntry entry) where TEntry : IListingEntry<TEntry>;

    Task RemoveAsync<TEntry>(string id) where TEntry : IListingEntry<TEntry>;

    /// <summary>
    /// Entries whose fields equal every filter value and none of the excluded ones, sorted by id, one page; and how
    /// many match in all.
    /// </summary>
    Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(Dictionary<string, string> filter, int take, int skip, Dictionary<string, string>? exclude = null)
        where TEntry : IListingEntry<TEntry>;

    /// <summary>Entry counts by the values of these fields, keyed by the values joined with '|'.</summary>
    Task<Dictionary<string, int>> CountByAsync<TEntry>(params string[] fields) where TEntry : IListingEntry<TEntry>;
}
