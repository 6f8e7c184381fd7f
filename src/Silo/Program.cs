using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monitoring.Persistence;
using Npgsql;
using Prometheus;

namespace Monitoring.Silo;

/// <summary>The silo process: production with connection strings, development mode without; `migrate` applies the schema.</summary>
public static class SiloProgram
{
    /// <summary>How long a silo has to hand its grains off after SIGTERM; k8s/ gives the pod longer than this.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> Main(string[] args)
    {
        Monitoring.Telemetry.MonitoringMetrics.ConfigureExport();
        var builder = WebApplication.CreateBuilder(args.Where(a => a != "migrate").ToArray());

        // `migrate` applies the schema and exits; silos also migrate at start, so this is for a deploy step of its own.
        if (args.Contains("migrate"))
        {
            var settings = ClusterSettings.ReadOrExit(builder.Configuration, "migrate");
            await using var dataSource = NpgsqlDataSource.Create(settings.Postgres);
            var applied = await Schema.MigrateAsync(dataSource, settings.Schema);
            Console.WriteLine($"schema {settings.Schema}: {applied} migrations applied, {Schema.Migrations.Count} in all");
            return 0;
        }

        // A silo serves /metrics and /health over HTTP (default 127.0.0.1:8080; on Kubernetes ASPNETCORE_URLS=http://+:8080).
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:8080");
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        var production = ClusterSettings.IsConfigured(builder.Configuration);
        ClusterSettings? cluster = null;
        if (production)
        {
            cluster = ClusterSettings.ReadOrExit(builder.Configuration, "silo");
            builder.UseOrleans(silo => silo.UseProductionCluster(cluster).AddMonitoringDashboard(builder.Configuration));
            builder.Services.AddProductionReadiness(cluster, silo: true);
        }
        else
        {
            builder.UseOrleans(silo => silo.UseEmbeddedCluster().AddMonitoringDashboard(builder.Configuration));
            builder.Services.AddSingleton<IReadinessCheck, MembershipCheck>();
        }

        builder.Services.AddMonitoringTracing(builder.Configuration, "mcp-alerting-silo");
        var app = builder.Build();
        app.MapMetrics();
        app.MapMonitoringDashboard();
        app.MapGet("/health/live", () => Results.Json(new { status = "healthy" }));
        app.MapGet("/health/ready", async (IEnumerable<IReadinessCheck> checks, CancellationToken cancellationToken) =>
        {
            var (ready, results) = await ReadinessServices.RunAsync(checks, cancellationToken);
            return Results.Json(new { status = ready ? "healthy" : "unhealthy", checks = results },
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Monitoring.Silo");
        if (cluster is not null)
        {
            logger.LogInformation(
                "Silo {ClusterId}/{ServiceId} on {Address}:{SiloPort} (gateway {GatewayPort}); Redis membership and reminders, PostgreSQL state in schema {Schema}",
                cluster.ClusterId, cluster.ServiceId, cluster.AdvertisedIp, cluster.SiloPort, cluster.GatewayPort, cluster.Schema);
        }
        else
        {
            logger.LogWarning("Silo running in development mode: localhost clustering and in-memory state; nothing is kept across restarts");
        }
        await app.RunAsync();
        return 0;
    }
}
