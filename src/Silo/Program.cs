using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monitoring.Silo;

var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.UseEmbeddedCluster());
var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Monitoring.Silo")
    .LogWarning("Silo running in development mode: localhost clustering and in-memory state; nothing is kept across restarts");
await host.RunAsync();
