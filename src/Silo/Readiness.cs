using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;

namespace Monitoring.Silo;

/// <summary>The outcome of one readiness check, in the seed's health report shape.</summary>
public sealed record CheckResult(string Status, string Message, double Duration, Dictionary<string, object> Metadata, string? Error)
{
    public static async Task<CheckResult> TimeAsync(string healthy, string unhealthy, Func<CancellationToken, Task<Dictionary<string, object>>> check, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var metadata = await check(timeout.Token).WaitAsync(timeout.Token);
            return new CheckResult("healthy", healthy, Stopwatch.GetElapsedTime(started).TotalSeconds, metadata, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The exception's type only: messages of database drivers can carry hosts and user names.
            return new CheckResult("unhealthy", unhealthy, Stopwatch.GetElapsedTime(started).TotalSeconds, [], e.GetType().Name);
        }
    }
}

/// <summary>One dependency a process needs before it takes traffic.</summary>
public interface IReadinessCheck
{
    string Name { get; }

    Task<CheckResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>Redis answers PING (membership and reminders live there).</summary>
public sealed class RedisCheck(ClusterSettings settings) : IReadinessCheck, IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(settings.RedisOptions()));

    public string Name => "redis";

    public Task<CheckResult> CheckAsync(CancellationToken cancellationToken) => CheckResult.TimeAsync("Redis answers", "Redis does not answer", async _ =>
    {
        var latency = await (await _connection.Value).GetDatabase().PingAsync();
        return new Dictionary<string, object> { ["pingMs"] = Math.Round(latency.TotalMilliseconds, 2) };
    }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated) await (await _connection.Value).DisposeAsync();
    }
}

/// <summary>PostgreSQL answers a query on the schema (grain state, history and listings live there).</summary>
public sealed class PostgresCheck(NpgsqlDataSource dataSource, ClusterSettings settings) : IReadinessCheck
{
    public string Name => "postgres";

    public Task<CheckResult> CheckAsync(CancellationToken cancellationToken) => CheckResult.TimeAsync("PostgreSQL answers", "PostgreSQL does not answer", async token =>
    {
        await using var command = dataSource.CreateCommand($"SELECT coalesce(max(version), 0) FROM {Persistence.Schema.Quote(settings.Schema)}.schema_migrations");
        var version = await command.ExecuteScalarAsync(token);
        return new Dictionary<string, object> { ["schemaVersion"] = Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture) };
    }, cancellationToken);
}

/// <summary>This silo is an active member of the cluster.</summary>
public sealed class MembershipCheck(IServiceProvider services) : IReadinessCheck
{
    public string Name => "membership";

    public Task<CheckResult> CheckAsync(CancellationToken cancellationToken) => CheckResult.TimeAsync("this silo is active in the cluster", "this silo is not active in the cluster", _ =>
    {
        var membership = services.GetRequiredService<IClusterMembershipService>();
        var local = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(local);
        if (status != SiloStatus.Active) throw new InvalidOperationException(status.ToString());
        return Task.FromResult(new Dictionary<string, object>
        {
            ["status"] = status.ToString().ToLowerInvariant(),
            ["activeSilos"] = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active),
        });
    }, cancellationToken);
}

/// <summary>The API reaches a gateway: a call to the management grain answers.</summary>
public sealed class GatewayCheck(IGrainFactory grains) : IReadinessCheck
{
    public string Name => "cluster";

    public Task<CheckResult> CheckAsync(CancellationToken cancellationToken) => CheckResult.TimeAsync("a gateway answers grain calls", "no gateway answers", async _ =>
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return new Dictionary<string, object> { ["activeSilos"] = hosts.Count };
    }, cancellationToken);
}

public static class ReadinessServices
{
    /// <summary>Readiness of a production process: Redis and PostgreSQL, and membership (silo) or a gateway (API).</summary>
    public static IServiceCollection AddProductionReadiness(this IServiceCollection services, ClusterSettings settings, bool silo)
    {
        services.AddSingleton<IReadinessCheck>(_ => new RedisCheck(settings));
        services.AddSingleton<IReadinessCheck>(sp => new PostgresCheck(sp.GetRequiredService<NpgsqlDataSource>(), settings));
        if (silo) services.AddSingleton<IReadinessCheck, MembershipCheck>();
        else services.AddSingleton<IReadinessCheck, GatewayCheck>();
        return services;
    }

    /// <summary>Runs every check; unhealthy when any is.</summary>
    public static async Task<(bool Ready, Dictionary<string, CheckResult> Checks)> RunAsync(IEnumerable<IReadinessCheck> checks, CancellationToken cancellationToken)
    {
        var list = checks.ToList();
        var results = await Task.WhenAll(list.Select(c => c.CheckAsync(cancellationToken)));
        var byName = list.Select((c, i) => (c.Name, Result: results[i])).ToDictionary(x => x.Name, x => x.Result);
        return (byName.Values.All(r => r.Status == "healthy"), byName);
    }
}
