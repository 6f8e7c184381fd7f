using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Monitoring.Silo;

/// <summary>Ports and identity of the embedded single-node cluster, bound from "Orleans".</summary>
public sealed class EmbeddedClusterOptions
{
    public const string Section = "Orleans";

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    public string ServiceId { get; set; } = "mcp-alerting";
    public string ClusterId { get; set; } = "embedded";
}

public static class SiloHosting
{
    /// <summary>The grains and their services, on any silo.</summary>
    public static ISiloBuilder AddMonitoring(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddMonitoringGrains(configuration);
        return silo;
    }

    /// <summary>Every named storage provider in memory, and in-memory reminders: state lives as long as the process.</summary>
    public static ISiloBuilder UseInMemoryState(this ISiloBuilder silo)
    {
        foreach (var name in StorageNames.All)
        {
            silo.AddMemoryGrainStorage(name);
        }
        return silo.UseInMemoryReminderService();
    }

    /// <summary>One silo on localhost, in-memory state: the no-configuration development mode.</summary>
    public static ISiloBuilder UseEmbeddedCluster(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = configuration.GetSection(EmbeddedClusterOptions.Section).Get<EmbeddedClusterOptions>() ?? new EmbeddedClusterOptions();
        return silo
            .UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId)
            .UseInMemoryState()
            .AddMonitoring(configuration);
    }
}
