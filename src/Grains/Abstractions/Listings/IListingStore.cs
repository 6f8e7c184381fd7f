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

/// <summary>
/// One page of a listing: fields equal to <see cref="Filter"/>, none equal to <see cref="Exclude"/>, every label
/// matcher holding, the text (if any) in the id or name, sorted by id or by a numeric field, skipped and taken.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ListingQuery")]
public sealed record ListingQuery([property: Id(0)] int Take, [property: Id(1)] int Skip)
{
    [Id(2)] public Dictionary<string, string> Filter { get; init; } = [];
    [Id(3)] public Dictionary<string, string>? Exclude { get; init; }
    [Id(4)] public Silences.Matcher[] Matchers { get; init; } = [];
    [Id(5)] public string? Text { get; init; }

    /// <summary>A field holding a number to sort by (entries without it last), or null for the id.</summary>
    [Id(6)] public string? SortBy { get; init; }
    [Id(7)] public bool Descending { get; init; }

    /// <summary>With no <see cref="SortBy"/>: fields whose values rank the entries, worst first, before the id.</summary>
    [Id(8)] public RankedField[] WorstFirst { get; init; } = [];

    /// <summary>Only these entries, when given.</summary>
    [Id(9)] public string[]? Ids { get; init; }
}

/// <summary>A field whose values, listed worst first, order a listing: "what is wrong" on top. Values not listed come last.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RankedField")]
public sealed record RankedField([property: Id(0)] string Field, [property: Id(1)] string[] Worst)
{
    public int RankOf(string? value) => value is null || Array.IndexOf(Worst, value) is var i && i < 0 ? Worst.Length : i;
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

    /// <summary>One page of the entries the query selects, and how many it selects in all.</summary>
    Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(ListingQuery query) where TEntry : IListingEntry<TEntry>;

    /// <summary>Entry counts by the values of these fields, keyed by the values joined with '|'.</summary>
    Task<Dictionary<string, int>> CountByAsync<TEntry>(params string[] fields) where TEntry : IListingEntry<TEntry>;
}

public static class ListingStoreExtensions
{
    /// <summary>How long a grain's step waits for its listing entry to be written, in real time.</summary>
    public static readonly TimeSpan ProjectionBound = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Writes a grain's listing entry as the projection it is: within <paramref name="within"/> of real time
    /// (<see cref="ProjectionBound"/> unless told), or not at all. Answers the failure, a fault or no answer in time,
    /// instead of throwing, so a listing that cannot be reached never fails or holds its grain's step for Orleans'
    /// 30 s response timeout; the caller keeps what it listed last and writes again with its next step.
    /// </summary>
    public static async Task<Exception?> TryUpsertAsync<TEntry>(this IListingStore store, TEntry entry, TimeSpan? within = null, TimeProvider? clock = null)
        where TEntry : IListingEntry<TEntry>
    {
        try
        {
            await store.UpsertAsync(entry).WaitAsync(within ?? ProjectionBound, clock ?? TimeProvider.System);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Entries whose fields equal every filter value and none of the excluded ones, sorted by id, one page.</summary>
    public static Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(this IListingStore store, Dictionary<string, string> filter, int take, int skip,
        Dictionary<string, string>? exclude = null) where TEntry : IListingEntry<TEntry> =>
        store.QueryAsync<TEntry>(new ListingQuery(take, skip) { Filter = filter, Exclude = exclude });

    /// <summary>Whether an entry is one the query selects (for stores that filter in memory).</summary>
    public static bool Selects(this ListingQuery query, IListingEntry entry)
    {
        if (query.Ids is { } ids && !ids.Contains(entry.Id, StringComparer.Ordinal)) return false;
        if (!query.Filter.All(f => string.Equals(entry.Field(f.Key), f.Value, StringComparison.OrdinalIgnoreCase))) return false;
        if (query.Exclude is { } exclude && exclude.Any(x => string.Equals(entry.Field(x.Key), x.Value, StringComparison.OrdinalIgnoreCase))) return false;
        if (query.Matchers.Length > 0)
        {
            var fields = entry.Fields();
            if (!query.Matchers.All(m => m.Matches(fields))) return false;
        }
        return query.Text is not { Length: > 0 } text || (entry is ServerEntry server ? server.SearchText : entry.Id).Contains(text, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The query's order: by the numeric sort field (entries without it last), or worst first, then by id.</summary>
    public static IEnumerable<TEntry> Order<TEntry>(this ListingQuery query, IEnumerable<TEntry> entries) where TEntry : IListingEntry
    {
        if (query.SortBy is not { } field)
        {
            if (query.WorstFirst.Length == 0) return entries.OrderBy(e => e.Id, StringComparer.Ordinal);
            var ranked = entries.OrderBy(e => query.WorstFirst[0].RankOf(e.Field(query.WorstFirst[0].Field)));
            foreach (var rank in query.WorstFirst.Skip(1)) ranked = ranked.ThenBy(e => rank.RankOf(e.Field(rank.Field)));
            return ranked.ThenBy(e => e.Id, StringComparer.Ordinal);
        }
        double? Value(TEntry e) => double.TryParse(e.Field(field), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
        var ordered = entries.OrderBy(e => Value(e) is null);
        ordered = query.Descending ? ordered.ThenByDescending(e => Value(e)) : ordered.ThenBy(e => Value(e));
        return ordered.ThenBy(e => e.Id, StringComparer.Ordinal);
    }
}
