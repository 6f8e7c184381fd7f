using System.Diagnostics;
using System.Reflection;
using Monitoring.Rules;
using Monitoring.Silo;

namespace Monitoring.Api.Endpoints;

/// <summary>The seed's health report: status, timestamp, version, uptime; ?detailed=true adds the checks. Unhealthy answers 503.</summary>
public static class HealthEndpoints
{
    private static readonly string Version =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var started = Stopwatch.GetTimestamp();

        app.MapGet("/health", async (bool? detailed, IGrainFactory grains, IEnumerable<IReadinessCheck> readiness, TimeProvider time, CancellationToken cancellationToken) =>
        {
            var (_, dependencies) = await ReadinessServices.RunAsync(readiness, cancellationToken);
            var checks = new Dictionary<string, CheckResult>(dependencies) { ["grains"] = await CheckGrainsAsync(grains, cancellationToken) };
            var status = checks.Values.Any(c => c.Status == "unhealthy") ? "unhealthy"
                : checks.Values.Any(c => c.Status == "degraded") ? "degraded" : "healthy";
            var report = new Dictionary<string, object?>
            {
                ["status"] = status,
                ["timestamp"] = time.GetUtcNow(),
                ["version"] = Version,
                ["uptime"] = Stopwatch.GetElapsedTime(started).TotalSeconds,
            };
            if (detailed == true)
            {
                report["checks"] = checks;
                report["summary"] = new[] { "healthy", "degraded", "unhealthy", "unknown" }
                    .ToDictionary(s => s, s => checks.Values.Count(c => c.Status == s));
            }
            return Results.Json(report, statusCode: status == "unhealthy" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        }).WithTags("Health");

        app.MapGet("/health/live", () => Results.Json(new { status = "healthy" })).WithTags("Health");

        // Ready: the dependencies of this mode (production: Redis, PostgreSQL and a gateway) and a grain call answer.
        app.MapGet("/health/ready", async (IGrainFactory grains, IEnumerable<IReadinessCheck> readiness, CancellationToken cancellationToken) =>
        {
            var (_, checks) = await ReadinessServices.RunAsync(readiness, cancellationToken);
            checks["grains"] = await CheckGrainsAsync(grains, cancellationToken);
            var ready = checks.Values.All(c => c.Status == "healthy");
            return Results.Json(new { status = ready ? "healthy" : "unhealthy", checks },
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health");
    }

    /// <summary>A round trip to the rule catalog grain: proves the cluster answers calls.</summary>
    private static async Task<CheckResult> CheckGrainsAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var rules = await grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return new CheckResult("healthy", "the cluster answers grain calls", Stopwatch.GetElapsedTime(started).TotalSeconds,
                new Dictionary<string, object> { ["rules"] = rules.Rules.Length, ["ruleCatalogVersion"] = rules.Version }, null);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or OperationCanceledException)
        {
            return new CheckResult("unhealthy", "the cluster does not answer grain calls", Stopwatch.GetElapsedTime(started).TotalSeconds, [], e.GetType().Name);
        }
    }

}
