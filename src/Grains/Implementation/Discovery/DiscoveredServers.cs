using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Discovery;

/// <summary>
/// Writes what a discovery source found: registers new servers (into their shards first, one write a shard, then 32
/// at a time), updates changed ones, and deregisters gone ones (their open alerts resolve as <c>deregistered</c>).
/// Only servers the source itself registered are changed: one registered by hand, or by another source, under the same
/// id is left alone and reported. <see cref="Known"/> (id to what the source calls it) is the source's own record.
/// </summary>
public sealed class DiscoveredServers(IGrainFactory grains, string sourceId, Dictionary<string, string> known)
{
    public const string Deregistered = "deregistered";
    private const int Parallelism = 32;

    public Dictionary<string, string> Known => known;

    /// <summary>Registers or updates <paramref name="wanted"/>; answers what was left out and why.</summary>
    public async Task<string[]> RegisterAsync(McpServer[] wanted)
    {
        var skipped = new List<string>();
        var current = await Task.WhenAll(wanted.Select(s => grains.GetGrain<IMcpServerGrain>(s.Id).GetAsync()));
        var stored = wanted.Zip(current).Where(p => p.Second is not null).ToDictionary(p => p.First.Id, p => p.Second!, StringComparer.Ordinal);
        var writes = new List<McpServer>();
        for (var i = 0; i < wanted.Length; i++)
        {
            var server = wanted[i];
            if (current[i] is { } existing && existing.Origin?.Source != sourceId)
            {
                skipped.Add($"{server.Id}: {(existing.Origin is null ? "a server registered by hand" : $"a server of source {existing.Origin.Source}")} has this id");
                continue;
            }
            if (current[i] is { } same && Same(same, server)) continue;
            writes.Add(server);
        }
        if (writes.Count > 0)
        {
            var refused = await grains.GetGrain<IServerAddressCheckGrain>(0).CheckAsync([.. writes]);
            var blocked = refused.Select(e => int.Parse(e.Field["servers[".Length..e.Field.IndexOf(']')])).ToHashSet();
            skipped.AddRange(refused.Select(e => $"{writes[int.Parse(e.Field["servers[".Length..e.Field.IndexOf(']')])].Id}: {e.Message}"));
            writes = [.. writes.Where((_, i) => !blocked.Contains(i))];
            var fresh = writes.Where(w => !known.ContainsKey(w.Id) && !stored.ContainsKey(w.Id)).Select(w => w.Id).ToArray();
            await Task.WhenAll(fresh.GroupBy(ServerShards.Of).Select(shard => grains.GetGrain<IServerShardGrain>(shard.Key).AddManyAsync([.. shard])));
            var results = await Limited(writes, async server =>
            {
                var grain = grains.GetGrain<IMcpServerGrain>(server.Id);
                var registered = await grain.RegisterAsync(server);
                return (server, registered.Outcome == WriteOutcome.Duplicate ? await grain.UpdateAsync(server, keepProbeHeaders: true) : registered);
            });
            foreach (var (server, result) in results)
            {
                if (result.Succeeded) known[server.Id] = server.Origin!.Ref;
                else skipped.Add($"{server.Id}: {string.Join("; ", result.Errors.Select(e => $"{e.Field}: {e.Message}"))}");
            }
        }
        foreach (var server in wanted) if (stored.GetValueOrDefault(server.Id) is { Origin.Source: var source } && source == sourceId) known[server.Id] = server.Origin!.Ref;
        return [.. skipped.Order(StringComparer.Ordinal)];
    }

    private static bool Same(McpServer a, McpServer b) =>
        a.Name == b.Name && a.Endpoint == b.Endpoint && a.Origin == b.Origin && a.Probe.Transport == b.Probe.Transport
        && a.Labels.Count == b.Labels.Count && a.Labels.All(l => b.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    /// <summary>Deregisters the servers this source registered under <paramref name="ids"/>; one taken over by hand since is left alone.</summary>
    public async Task DeregisterAsync(string[] ids)
    {
        await Limited(ids, async id =>
        {
            var grain = grains.GetGrain<IMcpServerGrain>(id);
            if (await grain.GetAsync() is { Origin.Source: var source } && source == sourceId) await grain.DeregisterAsync(Deregistered);
            return id;
        });
        foreach (var id in ids) known.Remove(id);
    }

    private static async Task<TResult[]> Limited<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> work)
    {
        using var gate = new SemaphoreSlim(Parallelism);
        return await Task.WhenAll(items.Select(async item =>
        {
            await gate.WaitAsync();
            try
            {
                return await work(item);
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}
