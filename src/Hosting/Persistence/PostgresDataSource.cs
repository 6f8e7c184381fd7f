using Npgsql;

namespace Monitoring.Hosting.Persistence;

/// <summary>The cluster's PostgreSQL connections, made one way for the silos, the API and the migrate command.</summary>
public static class PostgresDataSource
{
    /// <summary>
    /// A pooled data source over the configured connection string, without resetting a connection when it goes back
    /// to the pool (Npgsql's <c>No Reset On Close</c>). The reset is a <c>DISCARD ALL</c> round trip on every reuse:
    /// measured with pg_stat_statements it was 4 of the 7 to 8 statements a server's registration cost and 10 of the
    /// 22 a breach cost. This product leaves no session state behind to reset: every statement names its schema, the
    /// migrations' <c>SET LOCAL</c> ends with their transaction, and their advisory lock is released in a finally.
    /// <para>
    /// Idle connections go back to PostgreSQL after 15 seconds (Npgsql's default is 5 minutes), unless the connection
    /// string says otherwise. Every silo and the API have a pool, and together they may be allowed more connections than
    /// the server's <c>max_connections</c>: after a storm the silos' pools held every slot idle, and the API's
    /// readiness check could not connect ("53300: too many clients") for minutes after the load had stopped.
    /// </para>
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        settings.NoResetOnClose = true;
        var defaults = new NpgsqlConnectionStringBuilder();
        if (settings.ConnectionIdleLifetime == defaults.ConnectionIdleLifetime) settings.ConnectionIdleLifetime = 15;
        if (settings.ConnectionPruningInterval == defaults.ConnectionPruningInterval) settings.ConnectionPruningInterval = 5;
        return builder.Build();
    }
}
