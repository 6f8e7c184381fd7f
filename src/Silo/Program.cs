using Monitoring.Hosting.Cluster;
using Monitoring.Hosting.Health;
using Monitoring.Hosting.Observability;
using Monitoring.Hosting.Persistence;
using Npgsql;
using Prometheus;

// The silo process: production with connection strings, development mode without; `migrate` applies the schema.
MetricsExport.Configure();
var builder = WebApplication.CreateBuilder(args.Where(a => a != "migrate").ToArray());

// `migrate` applies the schema and exits; silos also migrate at start, so this is for a deploy step of its own.
if (args.Contains("migrate"))
{
    var settings = ClusterSettings.ReadOrExit(builder.Configuration, "migrate");
    await using var dataSource = PostgresDataSource.Create(settings.Postgres);
    var applied = await Schema.MigrateAsync(dataSource, settings.Schema);
    Console.WriteLine($"schema {settings.Schema}: {applied} migrations applied, {Schema.Migrations.Count} in all");
    return 0;
}

// A silo serves /metrics and /health over HTTP (default 127.0.0.1:8080; on Kubernetes ASPNETCORE_URLS=http://+:8080).
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:8080");
}
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = SiloLifetime.ShutdownTimeout);
ClusterSettings? cluster = null;
if (ClusterSettings.IsConfigured(builder.Configuration))
{
    cluster = ClusterSettings.ReadOrExit(builder.Configuration, "silo");
    builder.UseOrleans(silo => silo.UseProductionCluster(cluster).AddMonitoringDashboard(builder.Configuration));
    builder.Services.AddProductionHealthChecks(cluster, silo: true);
}
else
{
    builder.UseOrleans(silo => silo.UseEmbeddedCluster().AddMonitoringDashboard(builder.Configuration));
    builder.Services.AddEmbeddedSiloHealthChecks();
}

builder.Services.AddMonitoringTracing(builder.Configuration, "mcp-alerting-silo");
var app = builder.Build();
app.MapMetrics();
app.MapMonitoringDashboard();
app.MapLiveAndReady();
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
