using Monitoring.Api.Hosting;
using Monitoring.Silo;

var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls(ApiHosting.DefaultUrl);
}

// No configuration needed: the API co-hosts a single silo with in-memory state.
builder.UseOrleans(silo => silo.UseEmbeddedCluster());
builder.Services.AddMonitoringApi();

var app = builder.Build();
app.UseMonitoringApi();
app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogWarning(
    "Embedded mode: one process with a co-hosted silo, localhost clustering and in-memory state. Nothing is kept across restarts."));
app.Run();

public partial class Program;
