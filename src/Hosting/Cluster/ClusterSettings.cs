using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Npgsql;
using StackExchange.Redis;

namespace Monitoring.Hosting.Cluster;

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

    /// <summary>Connections a silo keeps to PostgreSQL at most, unless the connection string says otherwise.</summary>
    public const int SiloPoolSize = 16;

    /// <summary>Connections an API process keeps to PostgreSQL at most, unless the connection string says otherwise.</summary>
    public const int ApiPoolSize = 8;

    public static ClusterSettings? Read(IConfiguration c, List<string> errors) => Read(c, errors, SiloPoolSize);

    /// <param name="poolSize">
    /// The process's share of PostgreSQL's connections (its max_connections is 100 by default): 16 for a silo, 8 for an
    /// API, so 3 silos and 2 APIs use 64. A pool that is full makes a caller wait at most 5 s for a connection, then
    /// fail with a 503 the client retries, instead of queueing without end. `Postgres:MaxPoolSize`, or the connection
    /// string's own "Maximum Pool Size", overrides it.
    /// </param>
    public static ClusterSettings? Read(IConfiguration c, List<string> errors, int poolSize)
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
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(postgres);
                if (c["Postgres:MaxPoolSize"] is { } configured)
                {
                    if (int.TryParse(configured, out var size) && size is >= 2 and <= 1000) poolSize = size;
                    else errors.Add($"Postgres:MaxPoolSize '{configured}' must be 2..1000");
                }
                if (!postgres.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase) && !postgres.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase))
                {
                    builder.MaxPoolSize = poolSize;
                }
                // How long a caller waits for a pooled connection before the request is shed with a 503.
                var wait = 5;
                if (c["Postgres:WaitSeconds"] is { } configuredWait && !(int.TryParse(configuredWait, out wait) && wait is >= 1 and <= 60))
                {
                    errors.Add($"Postgres:WaitSeconds '{configuredWait}' must be 1..60");
                }
                if (!postgres.Contains("Timeout", StringComparison.OrdinalIgnoreCase)) builder.Timeout = wait;
                postgres = builder.ConnectionString;
            }
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
        var settings = Read(c, errors, process == "api" ? ApiPoolSize : SiloPoolSize);
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

public static class SiloLifetime
{
    /// <summary>How long a silo has to hand its grains off after SIGTERM; k8s/ gives the pod longer than this.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);
}
