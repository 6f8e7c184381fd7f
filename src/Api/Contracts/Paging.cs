using Monitoring.Api.Problems;
using Monitoring.Listings;

namespace Monitoring.Api.Contracts;

/// <summary>Listings read the listing store: a fixed number of shard calls embedded, one indexed query in production.</summary>
public static class Paging
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;


    public static bool TryPage(int? limit, int? offset, RequestErrors errors, out int take, out int skip)
    {
        take = limit ?? DefaultLimit;
        skip = offset ?? 0;
        if (take is < 1 or > MaxLimit) errors.Add("limit", $"must be from 1 to {MaxLimit}");
        if (skip < 0) errors.Add("offset", "must be 0 or more");
        return !errors.Any;
    }

    /// <summary>One page from the listing store (index grains embedded, PostgreSQL in production).</summary>
    public static async Task<Page<TOut>> PageAsync<TEntry, TOut>(IListingStore listings, Dictionary<string, string> filter, int take, int skip, Func<TEntry, TOut> map)
        where TEntry : IListingEntry<TEntry>
    {
        var (items, total) = await listings.QueryAsync<TEntry>(filter, take, skip);
        return new Page<TOut>([.. items.Select(map)], total, take, skip);
    }
}
