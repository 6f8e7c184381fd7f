using Monitoring.Hosting.Persistence;
using Npgsql;

namespace Monitoring.Hosting.Cluster;

/// <summary>Brings the schema up to date before the silo serves grains; safe when several silos start at once.</summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, string schema, ILogger<SchemaMigrator> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchemaMigrator), ServiceLifecycleStage.RuntimeInitialize, async cancellationToken =>
        {
            var applied = await Schema.MigrateAsync(dataSource, schema, logger, cancellationToken);
            logger.LogInformation("Schema {Schema} is current ({Applied} migrations applied now)", schema, applied);
        });
}
