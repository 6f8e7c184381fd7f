using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Monitoring.Hosting.Cluster;
using Monitoring.Hosting.Persistence;
using Monitoring.Rules;
using Npgsql;
using StackExchange.Redis;

namespace Monitoring.Hosting.Health;

/// <summary>Redis answers PING (membership and reminders live there).</summary>
public sealed class RedisHealthCheck(ClusterSettings settings) : IHealthCheck, IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(settings.RedisOptions()));

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var latency = await (await _connection.Value.WaitAsync(cancellationToken)).GetDatabase().PingAsync().WaitAsync(cancellationToken);
        return HealthCheckResult.Healthy("Redis answers", new Dictionary<string, object> { ["pingMs"] = Math.Round(latency.TotalMilliseconds, 2) });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated) await (await _connection.Value).DisposeAsync();
    }
}

/// <summary>PostgreSQL answers a query on the schema (grain state, history and listings live there).</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, ClusterSettings settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT coalesce(max(version), 0) FROM {Schema.Quote(settings.Schema)}.schema_migrations");
        var version = await command.ExecuteScalarAsync(cancellationToken);
        return HealthCheckResult.Healthy("PostgreSQL answers",
            new Dictionary<string, object> { ["schemaVersion"] = Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture) });
    }
}

/// <summary>This silo is an active member of the cluster.</summary>
public sealed class MembershipHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var membership = services.GetRequiredService<IClusterMembershipService>();
        var local = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(local);
        var data = new Dictionary<string, object>
        {
            ["status"] = status.ToString().ToLowerInvariant(),
            ["activeSilos"] = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active),
        };
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy("this silo is active in the cluster", data)
            : HealthCheckResult.Unhealthy("this silo is not active in the cluster", data: data));
    }
}

/// <summary>A client reaches a gateway: the management grain answers.</summary>
public sealed class GatewayHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(cancellationToken);
        return HealthCheckResult.Healthy("a gateway answers grain calls", new Dictionary<string, object> { ["activeSilos"] = hosts.Count });
    }
}

/// <summary>A round trip to the rule catalog grain: proves the cluster answers calls.</summary>
public sealed class GrainsHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var rules = await grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync().WaitAsync(cancellationToken);
        return HealthCheckResult.Healthy("the cluster answers grain calls",
            new Dictionary<string, object> { ["rules"] = rules.Rules.Length, ["ruleCatalogVersion"] = rules.Version });
    }
}

/// <summary>
/// Health through ASP.NET Core health checks: /health/live (the process runs), /health/ready (the dependencies of
/// this process, tagged "ready"; 503 when one fails). The report keeps the seed's shape: each check with its status,
/// message, duration in seconds, metadata and, when it failed, the exception's type (never its message, which can
/// carry hosts and user names).
/// </summary>
public static class HealthChecks
{
    public const string Ready = "ready";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Readiness of a production process: Redis and PostgreSQL, and membership (silo) or a gateway (API).</summary>
    public static IHealthChecksBuilder AddProductionHealthChecks(this IServiceCollection services, ClusterSettings settings, bool silo)
    {
        services.AddSingleton(settings);
        var checks = services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: [Ready], timeout: Timeout)
            .AddCheck<PostgresHealthCheck>("postgres", tags: [Ready], timeout: Timeout);
        return silo
            ? checks.AddCheck<MembershipHealthCheck>("membership", tags: [Ready], timeout: Timeout)
            : checks.AddCheck<GatewayHealthCheck>("cluster", tags: [Ready], timeout: Timeout);
    }

    /// <summary>A silo of the embedded cluster is ready when it is active in the membership.</summary>
    public static IHealthChecksBuilder AddEmbeddedSiloHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks().AddCheck<MembershipHealthCheck>("membership", tags: [Ready], timeout: Timeout);

    /// <summary>/health/live and /health/ready.</summary>
    public static void MapLiveAndReady(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, _) => context.Response.WriteAsJsonAsync(new { status = "healthy" }),
        });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = (context, report) => context.Response.WriteAsJsonAsync(new { status = StatusName(report.Status), checks = Checks(report) }),
        });
    }

    public static string StatusName(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    /// <summary>Every check of a report in the seed's shape.</summary>
    public static Dictionary<string, CheckReport> Checks(HealthReport report) => report.Entries.ToDictionary(e => e.Key, e => new CheckReport(
        StatusName(e.Value.Status),
        e.Value.Description ?? (e.Value.Status == HealthStatus.Healthy ? "ok" : "failed"),
        Math.Round(e.Value.Duration.TotalSeconds, 6),
        e.Value.Data.ToDictionary(d => d.Key, d => d.Value),
        e.Value.Exception is { } exception ? (exception is OperationCanceledException ? "TimeoutException" : exception.GetType().Name) : null));
}

/// <summary>One check, as the seed's health report shows it.</summary>
public sealed record CheckReport(string Status, string Message, double Duration, Dictionary<string, object> Metadata, string? Error);
