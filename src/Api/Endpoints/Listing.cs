using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Indexing;

namespace Monitoring.Api.Endpoints;

/// <summary>Listings read the sharded index: a fixed number of shard calls, whatever the number of grains.</summary>
public static class Listing
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static async Task<TEntry[]> QueryAsync<TEntry>(IGrainFactory grains, string kind, Dictionary<string, string> filter)
        where TEntry : IIndexEntry
    {
        var shards = await Task.WhenAll(IndexShards.AllKeys(kind).Select(key => grains.GetGrain<IIndexGrain<TEntry>>(key).QueryAsync(filter)));
        return [.. shards.SelectMany(s => s).OrderBy(e => e.Id, StringComparer.Ordinal)];
    }

    public static bool TryPage(int? limit, int? offset, RequestErrors errors, out int take, out int skip)
    {
        take = limit ?? DefaultLimit;
        skip = offset ?? 0;
        if (take is < 1 or > MaxLimit) errors.Add("limit", $"must be from 1 to {MaxLimit}");
        if (skip < 0) errors.Add("offset", "must be 0 or more");
        return !errors.Any;
    }

    public static Page<TOut> Page<TIn, TOut>(TIn[] entries, int take, int skip, Func<TIn, TOut> map) =>
        new([.. entries.Skip(skip).Take(take).Select(map)], entries.Length, take, skip);
}
