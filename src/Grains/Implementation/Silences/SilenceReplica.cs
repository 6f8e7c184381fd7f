using Monitoring.External;
using Monitoring.Rules;
using Orleans.Runtime.Services;
using Orleans.Services;

namespace Monitoring.Silences;

/// <summary>Each silo's copy of the silences, told by the catalog when it changes.</summary>
[Alias("mcp.ISilenceReplica")]
public interface ISilenceReplica : IGrainService
{
    /// <summary>Takes the set into this silo's copy; answers once every later decision on this silo sees it.</summary>
    Task AcceptAsync(SilenceSet set);

    /// <summary>Tells the servers on this silo that have open alerts, so those alerts take the change now.</summary>
    Task ApplyToOpenAlertsAsync();
}

/// <summary>
/// One per silo. The catalog stores a change and then gives the new set to every silo before it answers, so a silence
/// holds cluster-wide once its write has answered: no notification leaves after it on a copy a second old.
/// </summary>
public sealed class SilenceReplica(GrainId id, Silo silo, ILoggerFactory loggers, SilenceCache cache, LocalServers servers)
    : GrainService(id, silo, loggers), ISilenceReplica
{
    private readonly ILogger _logger = loggers.CreateLogger<SilenceReplica>();

    public Task AcceptAsync(SilenceSet set)
    {
        cache.Accept(set);
        return Task.CompletedTask;
    }

    public Task ApplyToOpenAlertsAsync() => servers.TellAllAsync(server => server.SilencesChangedAsync(), _logger, "silence nudge");
}

/// <summary>Reaches the <see cref="SilenceReplica"/> of each active silo.</summary>
public sealed class SilenceReplicas(IServiceProvider services, IClusterMembershipService membership, IGrainFactory grains, ILogger<SilenceReplicas> logger)
    : GrainServiceClient<ISilenceReplica>(services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gives the set to every active silo, then has each apply it to its open alerts, and the Alertmanager API's alerts
    /// look again. A silo that does not answer in time still refreshes its copy within a second on its own.
    /// </summary>
    public async Task PublishAsync(SilenceSet set)
    {
        var silos = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
        await EachAsync(silos, silo => GetGrainService(silo).AcceptAsync(set), "take the silences");
        await EachAsync(silos, silo => GetGrainService(silo).ApplyToOpenAlertsAsync(), "apply the silences to its open alerts");
        await EachAsync(Enumerable.Range(0, ExternalAlerts.Partitions).ToList(),
            partition => grains.GetGrain<IExternalAlertsGrain>(partition).SilencesChangedAsync(), "apply the silences to external alerts");
    }

    private async Task EachAsync<T>(List<T> targets, Func<T, Task> call, string what)
    {
        await Task.WhenAll(targets.Select(async target =>
        {
            try { await call(target).WaitAsync(Patience); }
            catch (Exception e) { logger.LogWarning(e, "{Target} did not {What} in time; it does within a second on its own", target, what); }
        }));
    }
}
