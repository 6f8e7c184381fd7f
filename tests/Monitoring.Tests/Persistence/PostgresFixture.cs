using Monitoring.Tests.Support;
using Npgsql;

namespace Monitoring.Tests.Persistence;

/// <summary>A real PostgreSQL server for the storage tests, started once for the collection; each test takes its own schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await PostgresServer.StartAsync();
        DataSource = NpgsqlDataSource.Create(Server.ConnectionString());
    }

    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..12];

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
