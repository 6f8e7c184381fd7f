using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monitoring.Persistence;
using Monitoring.Silo;
using Npgsql;

var builder = Host.CreateApplicationBuilder(args.Where(a => a != "migrate").ToArray());

// `migrate` applies the schema and exits; silos also migrate at start, so this is for a deploy step of its own.
if (args.Contains("migrate"))
{
    var settings = ClusterSettings.ReadOrExit(builder.Configuration, "migrate");
    await using var dataSource = NpgsqlDataSource.Create(settings.Postgres);
    var applied = await Schema.MigrateAsync(dataSource, settings.Schema);
    Console.WriteLine($"schema {settings.Schema}: {applied} migrations applied, {Schema.Migrations.Count} in all");
    return 0;
}

if (ClusterSettings.IsConfigured(builder.Configuration))
{
    var settings = ClusterSettings.ReadOrExit(builder.Configuration, "silo");
    builder.UseOrleans(silo => silo.UseProductionCluster(settings));
    var host = builder.Build();
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Monitoring.Silo").LogInformation(
        "Silo {ClusterId}/{ServiceId} on {Address}:{SiloPort} (gateway {GatewayPort}); Redis membership and reminders, PostgreSQL state in schema {Schema}",
        settings.ClusterId, settings.ServiceId, settings.AdvertisedIp, settings.SiloPort, settings.GatewayPort, settings.Schema);
    await host.RunAsync();
}
else
{
    builder.UseOrleans(silo => silo.UseEmbeddedCluster());
    var host = builder.Build();
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Monitoring.Silo")
        .LogWarning("Silo running in development mode: localhost clustering and in-memory state; nothing is kept across restarts");
    await host.RunAsync();
}
return 0;
