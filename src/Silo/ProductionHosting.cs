using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monitoring.Hosting;
using Monitoring.Persistence;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using StackExchange.Redis;

namespace Monitoring.Silo;

/// <summary>
/// The production cluster's settings, from appsettings, environment variables (ConnectionStrings__Redis,
/// Orleans__ClusterId…) or the command line. <see cref="Read"/> checks them all and names every one that is
/// missing or wrong, so a silo or an API with a bad configuration stops at start with a clear message.
/// </summary>
public sealed partial record ClusterSettings(
    string Redis, string Postgres, string Schema, string ServiceId, string ClusterId, int SiloPort, int GatewayPort, IPAddress AdvertisedIp,
    TimeSpan ProbeTimeout, int MissedProbesLimit, TimeSpan ReminderPeriod)
{
    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();

    /// <summary>Production is chosen by giving either connection string; the embedded mode has neither.</summary>
    public static bool IsConfigured(IConfiguration c) =>
        !string.IsNullOrWhiteSpace(c.GetConnectionString("Redis")) || !string.IsNullOrWhiteSpace(c.GetConnectionString("Postgres"));

    public static ClusterSettings? Read(IConfiguration c, List<string> errors)
    {
        var redis = c.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(redis)) errors.Add("ConnectionStrings:Redis is required: the Redis that holds membership and reminders, e.g. 127.0.0.1:6379");
        else
        {
            try { ConfigurationOptions.Parse(redis); }
            catch (ArgumentException e) { errors.Add($"ConnectionStrings:Redis is not a Redis configuration string: {e.Message}"); }
        }
        var postgres = c.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(postgres)) errors.Add("ConnectionStrings:Postgres is required: e.g. Host=127.0.0.1;Port=5432;Username=mcp;Password=…;Database=mcp_alerting");
        else
        {
            try { _ = new NpgsqlConnectionStringBuilder(postgres); }
            catch (ArgumentException e) { errors.Add($"ConnectionStrings:Postgres is not a PostgreSQL connection string: {e.Message}"); }
        }
        var schema = c["Postgres:Schema"] ?? "mcp_alerting";
        if (!SchemaName().IsMatch(schema)) errors.Add($"Postgres:Schema '{schema}' must be a lower-case SQL name: letters, digits and '_', at most 63");
        var serviceId = c["Orleans:ServiceId"] ?? "mcp-alerting";
        var clusterId = c["Orleans:ClusterId"] ?? "production";
        if (string.IsNullOrWhiteSpace(serviceId)) errors.Add("Orleans:ServiceId must not be empty");
        if (string.IsNullOrWhiteSpace(clusterId)) errors.Add("Orleans:ClusterId must not be empty");
        var siloPort = Port(c, "Orleans:SiloPort", 11111, errors);
        var gatewayPort = Port(c, "Orleans:GatewayPort", 30000, errors);
        var advertised = IPAddress.Loopback;
        if (c["Orleans:AdvertisedIP"] is { Length: > 0 } ip && !IPAddress.TryParse(ip, out advertised!))
        {
            errors.Add($"Orleans:AdvertisedIP '{ip}' is not an IP address (on Kubernetes, the pod IP)");
            advertised = IPAddress.Loopback;
        }
        var probeTimeout = Time(c, "Orleans:ProbeTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1), errors);
        var missed = int.TryParse(c["Orleans:MissedProbesLimit"] ?? "2", out var m) && m is >= 1 and <= 10 ? m : Fail(errors, "Orleans:MissedProbesLimit must be 1..10", 2);
        var reminderPeriod = Time(c, "Monitoring:ReminderPeriod", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), errors);
        return errors.Count > 0 ? null : new ClusterSettings(redis!, postgres!, schema, serviceId, clusterId, siloPort, gatewayPort, advertised,
            probeTimeout, missed, reminderPeriod);
    }

    /// <summary>Reads the settings or stops: every problem is printed, then the process exits with code 2.</summary>
    public static ClusterSettings ReadOrExit(IConfiguration c, string process)
    {
        var errors = new List<string>();
        var settings = Read(c, errors);
        if (settings is not null) return settings;
        Console.Error.WriteLine($"{process}: the configuration is not usable:");
        foreach (var error in errors) Console.Error.WriteLine($"  - {error}");
        Environment.Exit(2);
        throw new InvalidOperationException("unreachable");
    }

    private static int Port(IConfiguration c, string key, int fallback, List<string> errors) =>
        c[key] is not { } text ? fallback : int.TryParse(text, out var port) && port is > 0 and < 65536 ? port : Fail(errors, $"{key} '{text}' must be a port, 1..65535", fallback);

    private static TimeSpan Time(IConfiguration c, string key, TimeSpan fallback, TimeSpan min, TimeSpan max, List<string> errors) =>
        c[key] is not { } text ? fallback
        : TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value
        : Fail(errors, $"{key} '{text}' must be a time span (hh:mm:ss) from {min} to {max}", fallback);

    private static T Fail<T>(List<string> errors, string message, T fallback)
    {
        errors.Add(message);
        return fallback;
    }

    public ConfigurationOptions RedisOptions()
    {
        var options = ConfigurationOptions.Parse(Redis);
        options.AbortOnConnectFail = false;
        return options;
    }
}

public static class ProductionHosting
{
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
        silo.Services.AddSingleton(_ => NpgsqlDataSource.Create(settings.Postgres));
        foreach (var name in StorageNames.All)
        {
            silo.Services.AddGrainStorage(name, (sp, n) => new PostgresGrainStorage(n, sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        }
        silo.Services.AddSingleton<IAlertHistory>(sp => new PostgresAlertHistory(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        silo.Services.AddSingleton<Indexing.IListingStore>(sp => new Indexing.PostgresListingStore(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        // One key ring for the whole cluster, in PostgreSQL: a secret sealed by one silo opens on any other.
        silo.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<IServiceProvider>((o, sp) => o.XmlRepository = new Security.PostgresXmlRepository(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
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
        client.Services.TryAddSingleton(TimeProvider.System);
        client.Services.AddSingleton(_ => NpgsqlDataSource.Create(settings.Postgres));
        client.Services.AddSingleton<IAlertHistory>(sp => new PostgresAlertHistory(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        client.Services.AddSingleton<Indexing.IListingStore>(sp => new Indexing.PostgresListingStore(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        client.Services.AddSingleton<IAuditLog>(sp => new PostgresAuditLog(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
        return client;
    }
}

/// <summary>Brings the schema up to date before the silo serves grains; safe when several silos start at once.</summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, string schema, ILogger<SchemaMigrator> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchemaMigrator), ServiceLifecycleStage.RuntimeInitialize, async cancellationToken =>
        {
            var applied = await Schema.MigrateAsync(dataSource, schema, logger, cancellationToken);
            logger.LogInformation("Schema {Schema} is current ({Applied} migrations applied now)", schema, applied);
        });
}
