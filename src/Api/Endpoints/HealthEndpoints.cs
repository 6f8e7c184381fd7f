using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Monitoring.Hosting.Health;

namespace Monitoring.Api.Endpoints;

/// <summary>The seed's health report: status, timestamp, version, uptime; ?detailed=true adds the checks. Unhealthy answers 503.</summary>
public static class HealthEndpoints
{
    private static readonly string Version =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var started = Stopwatch.GetTimestamp();

        app.MapGet("/health", async (bool? detailed, HealthCheckService health, TimeProvider time, CancellationToken cancellationToken) =>
        {
            var report = await health.CheckHealthAsync(cancellationToken);
            var status = HealthChecks.StatusName(report.Status);
            var body = new Dictionary<string, object?>
            {
                ["status"] = status,
                ["timestamp"] = time.GetUtcNow(),
                ["version"] = Version,
                ["uptime"] = Stopwatch.GetElapsedTime(started).TotalSeconds,
            };
            if (detailed == true)
            {
                var checks = HealthChecks.Checks(report);
                body["checks"] = checks;
                body["summary"] = new[] { "healthy", "degraded", "unhealthy", "unknown" }.ToDictionary(s => s, s => checks.Values.Count(c => c.Status == s));
            }
            return Results.Json(body, statusCode: report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        }).WithTags("Health");

        app.MapLiveAndReady();
    }
}
