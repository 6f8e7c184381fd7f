using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monitoring.Hosting.Persistence;
using Monitoring.History;
using Monitoring.Settings;
using Npgsql;
using Orleans.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace Monitoring.Hosting.Cluster;

public static class ProductionHosting
{
    public static readonly TimeSpan ApiResponseTimeout = TimeSpan.FromSeconds(8);

    /// <summary>
    /// A silo of the production cluster: membership and reminders in Redis, grain state and history in PostgreSQL,
    /// schema migrations at start, and membership tuned to declare a dead silo in seconds: a probe times out after
    /// <see cref="ClusterSettings.ProbeTimeout"/> (1 s) and <see cref="ClusterSettings.MissedProbesLimit"/> (2) missed
    /// probes make a suspicion; two silos' votes declare it dead.
    /// </summary>
    public static ISiloBuilder UseProductionCluster(this ISiloBuilder silo, ClusterSettings settings)
    {
        silo.UseRedisClustering(o => o.ConfigurationOptions = settings.RedisOptions());
        silo.UseRedisReminderService(o => o.ConfigurationOptions = settings.RedisOptions());
        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = settings.ServiceId;
            o.ClusterId = settings.ClusterId;
        });
        silo.ConfigureEndpoints(settings.AdvertisedIp, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: true);
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = settings.ProbeTimeout;
            o.NumMissedProbesLimit = settings.MissedProbesLimit;
            o.NumVotesForDeathDeclaration = 2;
            // Keep the probe timeout as set even when this silo rates its own health as degraded (busy nodes do).
            o.ExtendProbeTimeoutDuringDegradation = false;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
            // A silo writes "I am alive" every 5 s; an entry silent for two of those is stale. After a full stop, the
            // new silos then neither wait on the old entries to join nor need votes from them.
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
            o.NumMissedTableIAmAliveLimit = 2;
        });
        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = settings.ReminderPeriod < o.MinimumReminderPeriod ? settings.ReminderPeriod : o.MinimumReminderPeriod);
        silo.Configure<MonitoringOptions>(o => o.ReminderPeriod = settings.ReminderPeriod);

        silo.AddActivityPropagation();
        silo.Services.AddSingleton(_ => PostgresDataSource.Create(settings.Postgres));
        silo.Services.AddSingleton(sp => new StatementBatcher(sp.GetRequiredService<NpgsqlDataSource>()));
        foreach (var name in StorageNames.Durable)
        {
            silo.Services.AddGrainStorage(name, (sp, n) => new PostgresGrainStorage(n, sp.GetRequiredService<StatementBatcher>(), settings.Schema));
        }
        silo.Services.AddSingleton<IAlertHistory>(sp => new PostgresAlertHistory(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        silo.Services.AddSingleton<Listings.IListingStore>(sp => new PostgresListingStore(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        silo.Services.AddSingleton<Channels.Delivery.IOutboxStore>(sp => new PostgresOutboxStore(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        silo.Services.AddSingleton<External.IExternalAlertStore>(sp => new PostgresExternalAlertStore(settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        // One key ring for the whole cluster, in PostgreSQL: a secret sealed by one silo opens on any other.
        silo.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<IServiceProvider>((o, sp) => o.XmlRepository = new PostgresXmlRepository(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => new SchemaMigrator(
            sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<ILogger<SchemaMigrator>>()));
        return silo.AddMonitoring();
    }

    /// <summary>The API as a client of the production cluster: it finds gateways through Redis.</summary>
    public static IClientBuilder UseProductionClient(this IClientBuilder client, ClusterSettings settings)
    {
        client.UseRedisClustering(o => o.ConfigurationOptions = settings.RedisOptions());
        client.AddActivityPropagation();
        client.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = settings.ServiceId;
            o.ClusterId = settings.ClusterId;
        });
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        // A request the cluster cannot answer in 8 s (a storm, a failover) is answered 503 with Retry-After rather than
        // holding the caller for Orleans' default 30 s; a check round, which may wait on a slow server, has its own timeout.
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ApiResponseTimeout);
        client.Services.TryAddSingleton(TimeProvider.System);
        client.Services.AddSingleton(_ => PostgresDataSource.Create(settings.Postgres));
        client.Services.AddSingleton(sp => new StatementBatcher(sp.GetRequiredService<NpgsqlDataSource>()));
        client.Services.AddSingleton<IAlertHistory>(sp => new PostgresAlertHistory(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        client.Services.AddSingleton<Listings.IListingStore>(sp => new PostgresListingStore(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema, sp.GetRequiredService<StatementBatcher>()));
        return client;
    }
}
