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
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        return builder.Build();
    }
}
