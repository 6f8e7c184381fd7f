namespace Monitoring.Tests.Support;

/// <summary>Reading what a real Redis holds (kept apart from <see cref="RedisServer"/>, which the benchmarks share as source).</summary>
public static class RedisContents
{
    /// <summary>
    /// Whether any key holds all of these texts in one value (a string, a hash field or a sorted-set member): what a
    /// drill asks of what Orleans keeps in Redis (a reminder's grain and name) without knowing its key layout.
    /// </summary>
    public static async Task<bool> HoldsAsync(this RedisServer server, params string[] texts)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{server.ConnectionString},allowAdmin=true");
        var db = redis.GetDatabase();
        foreach (var key in redis.GetServer(server.ConnectionString).Keys(pattern: "*"))
        {
            IEnumerable<string?> values = await db.KeyTypeAsync(key) switch
            {
                StackExchange.Redis.RedisType.String => [(string?)await db.StringGetAsync(key)],
                StackExchange.Redis.RedisType.Hash => (await db.HashGetAllAsync(key)).Select(e => (string?)e.Value),
                StackExchange.Redis.RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(v => (string?)v),
                StackExchange.Redis.RedisType.Set => (await db.SetMembersAsync(key)).Select(v => (string?)v),
                StackExchange.Redis.RedisType.List => (await db.ListRangeAsync(key)).Select(v => (string?)v),
                _ => [],
            };
            if (values.Any(v => v is not null && texts.All(t => v.Contains(t, StringComparison.Ordinal)))) return true;
        }
        return false;
    }

}
