using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Hosting.Persistence;
using Monitoring.Settings;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace Monitoring.Hosting.Cluster;

/// <summary>Ports and identity of the embedded single-node cluster, bound from "Orleans".</summary>
public sealed class EmbeddedClusterOptions
{
    public const string Section = "Orleans";

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    public string ServiceId { get; set; } = "mcp-alerting";
    public string ClusterId { get; set; } = "embedded";
}

public static class EmbeddedHosting
{
    /// <summary>The grains whose silo a silo remembers (Orleans' default is 1,000,000).</summary>
    public const int DirectoryCacheSize = 100_000;

    /// <summary>The grains and their services, on any silo.</summary>
    public static ISiloBuilder AddMonitoring(this ISiloBuilder silo)
    {
        silo.Services.AddMonitoringGrains();
        ProcessClock.Use(silo.Services);
        // The silo runs the workstation GC on purpose (measured: docs/benchmarks.md, "Memory"); Orleans' silo logs two
        // warnings at every start recommending the server GC. Its only other warnings say a stop was not graceful, which
        // the host's exit code and the membership's own log also tell; its errors still show.
        silo.Services.AddLogging(logging => logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error));
        // A grain service logs its ring range at every start and stop; the silence replica has no use for a range.
        silo.Services.AddLogging(logging => logging.AddFilter("Monitoring.Silences.SilenceReplica", LogLevel.Warning));
        // Orleans sizes its directory cache for a million grains up front: 18.6 MB of a silo's heap (1.9 KB a server on
        // 10,000, in a heap dump), paged in as grains appear. A silo looks up far fewer grains elsewhere than that;
        // beyond the size the least recently used entries are looked up again (docs/configuration.md).
        silo.Services.AddOptions<GrainDirectoryOptions>().Configure<IConfiguration>((o, c) =>
            o.CacheSize = c.GetValue($"{EmbeddedClusterOptions.Section}:DirectoryCacheSize", DirectoryCacheSize));
        return silo;
    }

    /// <summary>Every named storage provider in memory, and in-memory reminders: state lives as long as the process.</summary>
    public static ISiloBuilder UseInMemoryState(this ISiloBuilder silo)
    {
        foreach (var name in StorageNames.All)
        {
            // Orleans' own binary serializer, not JSON: in-memory state is never read by another version of the code
            // (JSON was 3.5% of the embedded process's time in the breach benchmark's profile); and no storage grains
            // between a grain and its state (see InProcessGrainStorage).
            silo.Services.AddGrainStorage(name, (sp, n) => new InProcessGrainStorage(n, sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        }
        var keyRing = new InMemoryXmlRepository();
        silo.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>().Configure(o => o.XmlRepository = keyRing);
        // The key ring lives in memory with the state it protects: its "may be persisted unencrypted" warning is moot here.
        silo.Services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error));
        silo.Services.AddSingleton(new Settings.StateDurability(Volatile: true));
        return silo.UseInMemoryReminderService();
    }

    /// <summary>One silo on localhost, in-memory state: the no-configuration development mode.</summary>
    public static ISiloBuilder UseEmbeddedCluster(this ISiloBuilder silo)
    {
        silo.UseLocalhostClustering();
        // Read through options rather than at build time, so a host (or a test) can set ports after this call.
        static EmbeddedClusterOptions Read(IConfiguration c) =>
            c.GetSection(EmbeddedClusterOptions.Section).Get<EmbeddedClusterOptions>() ?? new EmbeddedClusterOptions();
        silo.Services.AddOptions<EndpointOptions>().Configure<IConfiguration>((o, c) =>
        {
            var options = Read(c);
            o.SiloPort = options.SiloPort;
            o.GatewayPort = options.GatewayPort;
        });
        silo.Services.AddOptions<DevelopmentClusterMembershipOptions>().Configure<IConfiguration>((o, c) =>
            o.PrimarySiloEndpoint = new IPEndPoint(IPAddress.Loopback, Read(c).SiloPort));
        silo.Services.AddOptions<ClusterOptions>().Configure<IConfiguration>((o, c) =>
        {
            var options = Read(c);
            o.ServiceId = options.ServiceId;
            o.ClusterId = options.ClusterId;
        });
        silo.AddActivityPropagation();
        // One process on a laptop: its receivers and MCP servers are usually on loopback too.
        silo.Services.PostConfigure<Outbound.OutboundOptions>(o => o.AllowLoopback ??= true);
        return silo.UseInMemoryState().AddMonitoring();
    }
}
