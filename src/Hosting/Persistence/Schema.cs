using Npgsql;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// The PostgreSQL schema this product owns, as numbered migrations. <see cref="MigrateAsync"/> is idempotent and safe
/// when several silos start together: it holds a PostgreSQL advisory lock while it applies what is missing, and
/// records each applied version in schema_migrations.
/// </summary>
public static class Schema
{
    // Any fixed 64-bit number: the advisory lock all migrators of this schema take.
    private const long LockKey = 0x6d63_705f_616c_7274;

    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> Migrations =
    [
        (1, "grain state, alert and notification history",
            """
            CREATE TABLE grain_state (
                grain_type  text        NOT NULL,
                grain_key   text        NOT NULL,
                state_name  text        NOT NULL,
                payload     jsonb       NOT NULL,
                version     bigint      NOT NULL,
                updated_at  timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (grain_type, grain_key, state_name)
            );
            CREATE TABLE alert_history (
                id          bigserial   PRIMARY KEY,
                alert_id    text        NOT NULL,
                rule_id     text        NOT NULL,
                server_id   text        NOT NULL,
                severity    text        NOT NULL,
                from_status text        NOT NULL,
                to_status   text        NOT NULL,
                reason      text        NOT NULL,
                episode     integer     NOT NULL,
                sequence    integer     NOT NULL,
                at          timestamptz NOT NULL,
                UNIQUE (alert_id, sequence)
            );
            CREATE INDEX alert_history_at ON alert_history (at DESC);
            CREATE INDEX alert_history_server ON alert_history (server_id, at DESC);
            CREATE INDEX alert_history_rule ON alert_history (rule_id, at DESC);
            CREATE TABLE notification_history (
                id              bigserial   PRIMARY KEY,
                idempotency_key text        NOT NULL,
                alert_id        text        NOT NULL,
                channel_id      text        NOT NULL,
                kind            text        NOT NULL,
                status          text        NOT NULL,
                attempts        integer     NOT NULL,
                error           text,
                at              timestamptz NOT NULL
            );
            CREATE INDEX notification_history_alert ON notification_history (alert_id, at DESC);
            """),
        (2, "listings projected from the grains",
            """
            CREATE TABLE listing (
                kind        text        NOT NULL,
                id          text        NOT NULL,
                version     bigint      NOT NULL,
                fields      jsonb       NOT NULL,
                payload     jsonb       NOT NULL,
                updated_at  timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (kind, id)
            );
            CREATE INDEX listing_fields ON listing USING gin (fields jsonb_path_ops);
            """),
        (3, "audit log of configuration changes",
            """
            CREATE TABLE audit_log (
                id          bigserial   PRIMARY KEY,
                at          timestamptz NOT NULL,
                actor       text        NOT NULL,
                action      text        NOT NULL,
                kind        text        NOT NULL,
                resource_id text        NOT NULL,
                before      jsonb,
                after       jsonb
            );
            CREATE INDEX audit_log_resource ON audit_log (kind, resource_id, id DESC);
            """),
        (4, "the Data Protection key ring every process shares",
            """
            CREATE TABLE data_protection_keys (
                id    bigserial PRIMARY KEY,
                name  text      NOT NULL,
                xml   text      NOT NULL
            );
            """),
        (5, "the shape version of each stored state, for StateMigrations",
            """
            ALTER TABLE grain_state ADD COLUMN state_version integer NOT NULL DEFAULT 1;
            """),
        (6, "the channels' outbox, one row per notification: dedup, durable record and delivery log",
            """
            CREATE TABLE outbox (
                channel_id      text        NOT NULL,
                idempotency_key text        NOT NULL,
                alert_id        text        NOT NULL,
                kind            text        NOT NULL,
                state           text        NOT NULL,
                attempts        integer     NOT NULL,
                recorded_at     timestamptz NOT NULL,
                updated_at      timestamptz NOT NULL,
                last_error      text,
                notification    jsonb,
                PRIMARY KEY (channel_id, idempotency_key)
            );
            CREATE INDEX outbox_pending ON outbox (channel_id, recorded_at) WHERE state IN ('pending', 'held');
            CREATE INDEX outbox_finished ON outbox (channel_id, updated_at DESC) WHERE state NOT IN ('pending', 'held');
            """),
        (7, "external alerts, one row per alert (they lived in their partition's grain state)",
            """
            CREATE TABLE external_alert (
                partition   integer     NOT NULL,
                fingerprint text        NOT NULL,
                payload     jsonb       NOT NULL,
                updated_at  timestamptz NOT NULL,
                PRIMARY KEY (partition, fingerprint)
            );
            """),
        (8, "an outbox row's claim: which delivery worker activation may send it, and until when",
            """
            ALTER TABLE outbox ADD COLUMN claimed_by text, ADD COLUMN claimed_until timestamptz;
            """),
    ];

    /// <summary>Applies the migrations not yet applied; answers how many it applied.</summary>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, string schema, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await Execute(connection, "SELECT pg_advisory_lock(@key)", cancellationToken, ("key", LockKey));
        try
        {
            await Execute(connection, $"""
                CREATE SCHEMA IF NOT EXISTS {Quote(schema)};
                CREATE TABLE IF NOT EXISTS {Quote(schema)}.schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
                """, cancellationToken);
            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand($"SELECT version FROM {Quote(schema)}.schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken)) applied.Add(reader.GetInt32(0));
            }
            var count = 0;
            foreach (var (version, name, sql) in Migrations.Where(m => !applied.Contains(m.Version)).OrderBy(m => m.Version))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await Execute(connection, $"SET LOCAL search_path TO {Quote(schema)}; {sql}", cancellationToken);
                await Execute(connection, $"INSERT INTO {Quote(schema)}.schema_migrations (version, name) VALUES (@version, @name)", cancellationToken,
                    ("version", version), ("name", name));
                await transaction.CommitAsync(cancellationToken);
                logger?.LogInformation("Applied migration {Version} ({Name}) to schema {Schema}", version, name, schema);
                count++;
            }
            return count;
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", LockKey));
        }
    }

    /// <summary>A schema name as an SQL identifier; names are checked at configuration, this is the second guard.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
