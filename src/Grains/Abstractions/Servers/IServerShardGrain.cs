namespace Monitoring.Servers;

/// <summary>
/// One of <see cref="ServerShards.Count"/> lists that together name every registered server. A shard's reminder
/// brings its servers back once a reminder period (after a silo dies, its servers activate elsewhere and resume their
/// probes and evaluations), so a fleet holds a few dozen reminders instead of one a server.
/// </summary>
[Alias("mcp.IServerShardGrain")]
public interface IServerShardGrain : IGrainWithIntegerKey
{
    /// <summary>Adds the server; answers once that is stored.</summary>
    Task AddAsync(string serverId);

    /// <summary>Adds servers in one write (a bulk registration's, before it registers them); answers once that is stored.</summary>
    Task AddManyAsync(string[] serverIds);

    /// <summary>Removes the server; answers once that is stored.</summary>
    Task RemoveAsync(string serverId);

    /// <summary>The servers this shard keeps alive.</summary>
    Task<string[]> GetServersAsync();

    /// <summary>
    /// Makes sure the shard's reminder exists when it lists servers (the reminder table may have lost it: Redis restored
    /// from an older backup, or run without persistence); answers how many servers it lists.
    /// </summary>
    Task<int> RearmAsync();
}

/// <summary>Which shard keeps a server alive. Stored data depends on it: the count and the hash never change.</summary>
public static class ServerShards
{
    public const int Count = 64;

    /// <summary>FNV-1a over the id's UTF-16 code units, modulo <see cref="Count"/>.</summary>
    public static int Of(string serverId)
    {
        var hash = 2166136261u;
        foreach (var c in serverId)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % Count);
    }

    /// <summary>
    /// Registers one server, into its shard first: a shard that lists a server never stored drops it at its next tick,
    /// while a server stored but in no shard would not come back after its silo died. (A server does not join its
    /// shard itself: the shard calls its servers, and grains do not call each other in loops. Bulk registration,
    /// configuration and discovery add many to each shard in one call, the same way.)
    /// </summary>
    public static async Task<Common.WriteResult> RegisterAsync(IGrainFactory grains, McpServer server)
    {
        await grains.GetGrain<IServerShardGrain>(Of(server.Id)).AddAsync(server.Id);
        return await grains.GetGrain<IMcpServerGrain>(server.Id).RegisterAsync(server);
    }
}
