using Monitoring.Api.Problems;
using Monitoring.Api.Audit;
using Monitoring.Api.Hosting;
using Monitoring.Hosting.Cluster;
using Monitoring.Hosting.Health;
using Monitoring.Hosting.Observability;
using Microsoft.AspNetCore.DataProtection;
using Npgsql;

MetricsExport.Configure();
var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls(ApiHosting.DefaultUrl);
}

// With Redis and PostgreSQL configured, the API is a client of the production cluster. With neither, it needs no
// configuration at all: it co-hosts a single silo with in-memory state.
var production = ClusterSettings.IsConfigured(builder.Configuration);
if (production)
{
    var settings = ClusterSettings.ReadOrExit(builder.Configuration, "api");
    builder.UseOrleansClient(client => client.UseProductionClient(settings).AddMonitoringDashboard(builder.Configuration));
    builder.Services.AddProductionHealthChecks(settings, silo: false);
    builder.Services.AddSingleton<IAuditLog>(sp => new PostgresAuditLog(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
    // The silos' key ring: console sessions and the action links the silos sign open on every API replica.
    builder.Services.AddDataProtection().SetApplicationName("mcp-alerting");
    builder.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
        .Configure<IServiceProvider>((o, sp) => o.XmlRepository = new Monitoring.Hosting.Persistence.PostgresXmlRepository(sp.GetRequiredService<NpgsqlDataSource>(), settings.Schema));
}
else
{
    builder.UseOrleans(silo => silo.UseEmbeddedCluster().AddMonitoringDashboard(builder.Configuration));
    builder.Services.AddHealthChecks();
    builder.Services.AddSingleton<IAuditLog, InMemoryAuditLog>();
}
builder.Services.AddMonitoringApi(production, builder.Configuration);
// Bodies past the limit are refused with 413 before they are read (a telemetry push of 10,000 records is about 1 MiB).
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = builder.Configuration.GetValue("Api:MaxRequestBodyBytes", 4L * 1024 * 1024);
    // Long request lines reach the product, which refuses them with a problem body (414); Kestrel's own refusal has none.
    kestrel.Limits.MaxRequestLineSize = ServerRejections.MaxRequestLineBytes;
    kestrel.Limits.MaxRequestHeadersTotalSize = ServerRejections.MaxHeaderBytes;
    kestrel.Limits.MaxRequestHeaderCount = ServerRejections.MaxHeaderCount;
    // What Kestrel refuses itself (a NUL in the path, a malformed header) is answered with a problem body too.
    kestrel.ConfigureEndpointDefaults(listen => listen.UseProblemRejections());
});
builder.Services.AddMonitoringTracing(builder.Configuration, "mcp-alerting-api");

var app = builder.Build();
if (!production && !app.Services.GetRequiredService<Monitoring.Api.Security.AuthMode>().Required)
{
    // Open (no keys) is for one person on one machine: refuse to listen anywhere but loopback.
    var urls = (app.Configuration["urls"] ?? ApiHosting.DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries);
    var exposed = urls.Where(u => !Uri.TryCreate(u.Replace("*", "0.0.0.0").Replace("+", "0.0.0.0"), UriKind.Absolute, out var uri)
        || !(uri.IsLoopback || uri.Host is "127.0.0.1" or "[::1]" or "localhost")).ToList();
    if (exposed.Count > 0)
    {
        Console.Error.WriteLine($"api: refusing to run open (no Auth:Keys) on {string.Join(", ", exposed)}: listen on 127.0.0.1, or configure Auth:Keys.");
        return 2;
    }
}
app.UseMonitoringApi();
app.MapMonitoringDashboard();
app.Lifetime.ApplicationStarted.Register(() =>
{
    // The first line an operator reads: where, in which mode, and what is kept.
    var urls = string.Join(", ", app.Urls);
    if (production)
    {
        var settings = ClusterSettings.ReadOrExit(app.Configuration, "api");
        app.Logger.LogInformation(
            "MCP alerting API on {Urls}: a client of cluster {ClusterId}/{ServiceId}, found through Redis; state, history and audit in PostgreSQL (schema {Schema}); API keys required",
            urls, settings.ClusterId, settings.ServiceId, settings.Schema);
    }
    else if (app.Services.GetRequiredService<Monitoring.Api.Security.AuthMode>().Required)
    {
        app.Logger.LogInformation("MCP alerting on {Urls}: embedded mode, one process with its own silo; state in memory only, nothing is kept across restarts; API keys required", urls);
    }
    else
    {
        app.Logger.LogInformation(
            "MCP alerting on {Urls}: embedded mode, one process with its own silo; state in memory only, nothing is kept across restarts; open without API keys, so it listens on loopback only",
            urls);
    }
});
app.Run();
return 0;

public partial class Program;
