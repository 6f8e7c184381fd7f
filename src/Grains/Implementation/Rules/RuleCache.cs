using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Monitoring.Replication;
using Monitoring.Servers;

namespace Monitoring.Rules;

/// <summary>
/// This silo's copy of the rule catalog (a <see cref="Replica{T}"/>): it asks the catalog whether its version moved at
/// most once per <see cref="RefreshInterval"/>, and a write through the catalog on this silo invalidates it at once.
/// The catalog learns from the silo's name which silos have read which version.
/// </summary>
public sealed class RuleCache(IGrainFactory grains, ILocalSiloDetails silo)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Replica<RuleSet> _replica = new(RuleSet.Empty, set => set.Version,
        known => grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetIfChangedAsync(known, silo.Name), TimeProvider.System, RefreshInterval);

    public RuleSet Known => _replica.Known;

    public void Invalidate() => _replica.Invalidate();

    public Task<RuleSet> CurrentAsync() => _replica.GetAsync();

    /// <summary>Asks the catalog now (the watcher's tick), rather than answering a copy a second old.</summary>
    public Task<RuleSet> RefreshAsync() => _replica.RefreshAsync();
}

/// <summary>The server grains active on this silo, so a rule change can reach them without asking the whole cluster.</summary>
public sealed class LocalServers
{
    private readonly ConcurrentDictionary<string, IMcpServerGrain> _active = new(StringComparer.Ordinal);

    public int Count => _active.Count;

    public void Add(string id, IMcpServerGrain grain) => _active[id] = grain;

    public void Remove(string id) => _active.TryRemove(id, out _);

    public bool Contains(string id) => _active.ContainsKey(id);

    public IEnumerable<IMcpServerGrain> All => _active.Values;

    /// <summary>
    /// Tells every server active here something (a rule or silence change), at most 256 calls in flight. A server that
    /// misses it takes the change at its next evaluation, so a miss is logged, not thrown.
    /// </summary>
    public Task TellAllAsync(Func<IMcpServerGrain, Task> tell, ILogger logger, string what, CancellationToken cancellationToken = default) =>
        Parallel.ForEachAsync(_active.Values.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 256, CancellationToken = cancellationToken },
            async (server, _) =>
            {
                try { await tell(server); }
                catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "A server missed the {What}; it takes the change at its next evaluation", what); }
            });
}

/// <summary>
/// Refreshes this silo's rule copy every second and, when it finds a newer version, nudges the servers active here
/// (a one-way call each, at most 256 in flight), so a rule change applies within about a second. A server that misses
/// the nudge applies the new rules on its next evaluation (every 15 s).
/// </summary>
public sealed class RuleWatcher(RuleCache cache, LocalServers servers, ILogger<RuleWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RuleCache.RefreshInterval, TimeProvider.System);
        var applied = 0L;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var rules = await cache.RefreshAsync();
                if (rules.Version <= applied) continue;
                applied = rules.Version;
                await servers.TellAllAsync(server => server.RulesChangedAsync(), logger, "rule nudge", stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The cluster is starting or stopping, or the catalog's silo is gone: try again next second.
                logger.LogDebug(e, "The rule catalog could not be read");
            }
        }
    }
}
