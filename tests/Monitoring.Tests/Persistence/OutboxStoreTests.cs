using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Hosting.Persistence;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Persistence;

/// <summary>Both outbox stores answer "anything pending?" as their pending rows say: recorded, held, then finished.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OutboxStoreTests(PostgresFixture pg)
{
    [Fact]
    public async Task Any_pending_follows_the_rows_in_memory_and_in_PostgreSQL()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        foreach (var store in new IOutboxStore[] { new InMemoryOutboxStore(), new PostgresOutboxStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource)) })
        {
            var now = DateTimeOffset.UtcNow;
            var entry = new OutboxEntry
            {
                Notification = new Notification("r:s", "r", "R", "s", "S", Severity.Critical, NotificationKind.Firing, "firing", "m", 1, now, now, [], [], "", 1),
                RecordedAt = now, UpdatedAt = now,
            };
            Assert.False(await store.AnyPendingAsync("c1"));
            Assert.True(await store.TryRecordAsync("c1", entry));
            Assert.True(await store.AnyPendingAsync("c1"));
            Assert.False(await store.AnyPendingAsync("c2"));
            entry.Held = true;
            await store.UpdateAsync("c1", entry);
            Assert.True(await store.AnyPendingAsync("c1"));
            Assert.Single(await store.PendingAsync("c1"));
            await store.FinishAsync("c1", entry.Record("c1", DeliveryState.Delivered));
            Assert.False(await store.AnyPendingAsync("c1"));
        }
    }

    [Fact]
    public async Task A_claim_is_taken_only_from_the_owner_the_taker_saw_and_only_while_the_row_is_pending()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        foreach (var store in new IOutboxStore[] { new InMemoryOutboxStore(), new PostgresOutboxStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource)) })
        {
            var now = DateTimeOffset.UtcNow;
            var lease = DateTimeOffset.FromUnixTimeMilliseconds(now.AddMinutes(1).ToUnixTimeMilliseconds()); // as the store keeps it
            var entry = new OutboxEntry
            {
                Notification = new Notification("r:s", "r", "R", "s", "S", Severity.Critical, NotificationKind.Firing, "firing", "m", 1, now, now, [], [], "", 1),
                RecordedAt = now, UpdatedAt = now, ClaimedBy = "a", ClaimedUntil = lease,
            };
            Assert.True(await store.TryRecordAsync("c1", entry));
            var stored = Assert.Single(await store.PendingAsync("c1"));
            Assert.Equal("a", stored.ClaimedBy);
            Assert.Equal(lease.ToUnixTimeMilliseconds(), stored.ClaimedUntil!.Value.ToUnixTimeMilliseconds());

            Assert.False(await store.TryClaimAsync("c1", entry.Key, (null, null), "b", lease)); // b thought nobody held it
            Assert.False(await store.TryClaimAsync("c1", entry.Key, ("c", lease), "b", lease));
            Assert.False(await store.TryClaimAsync("c1", entry.Key, ("a", lease.AddSeconds(-1)), "b", lease)); // a renewed since b looked
            Assert.False(await store.TryClaimAsync("c2", entry.Key, ("a", lease), "b", lease)); // another channel's row
            Assert.True(await store.TryClaimAsync("c1", entry.Key, ("a", lease), "b", lease.AddMinutes(1)));
            Assert.False(await store.TryClaimAsync("c1", entry.Key, ("a", lease), "c", lease)); // a second taker who saw a loses
            // Progress does not touch the claim.
            entry.Attempts = 2;
            await store.UpdateAsync("c1", entry);
            stored = Assert.Single(await store.PendingAsync("c1"));
            Assert.Equal(("b", 2), (stored.ClaimedBy, stored.Attempts));

            await store.FinishAsync("c1", entry.Record("c1", DeliveryState.Delivered));
            Assert.False(await store.TryClaimAsync("c1", entry.Key, ("b", lease.AddMinutes(1)), "b", lease)); // finished: nobody sends it
        }
    }

    [Fact]
    public async Task A_row_recorded_before_claims_loads_unclaimed_and_is_taken_by_the_first_worker_that_asks()
    {
        // The outbox as version 7 of the schema made it, with a pending row in it; then the claims' migration.
        var schema = PostgresFixture.NewSchema();
        await using (var connection = await pg.DataSource.OpenConnectionAsync())
        {
            await using var create = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await create.ExecuteNonQueryAsync();
        }
        foreach (var (version, name, sql) in Schema.Migrations.Where(m => m.Version <= 7))
        {
            await using var command = pg.DataSource.CreateCommand($"SET search_path TO {schema}; {sql}");
            await command.ExecuteNonQueryAsync();
            await using var record = pg.DataSource.CreateCommand($"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO {schema}.schema_migrations (version, name) VALUES ({version}, '{name.Replace("'", "''")}')");
            await record.ExecuteNonQueryAsync();
        }
        var at = DateTimeOffset.UtcNow;
        var notification = new Notification("r:s", "r", "R", "s", "S", Severity.Critical, NotificationKind.Firing, "firing", "m", 1, at, at, [], [], "", 1);
        await using (var old = pg.DataSource.CreateCommand(
            $"INSERT INTO {schema}.outbox (channel_id, idempotency_key, alert_id, kind, state, attempts, recorded_at, updated_at, last_error, notification) " +
            "VALUES ('c1', $1, 'r:s', 'firing', 'pending', 1, now(), now(), 'receiver answered 503', $2)"))
        {
            old.Parameters.Add(new Npgsql.NpgsqlParameter { Value = notification.IdempotencyKey });
            old.Parameters.Add(new Npgsql.NpgsqlParameter { Value = System.Text.Json.JsonSerializer.Serialize(notification, PostgresGrainStorage.Json), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Jsonb });
            await old.ExecuteNonQueryAsync();
        }
        Assert.Equal(1, await Schema.MigrateAsync(pg.DataSource, schema));

        var store = new PostgresOutboxStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource));
        var row = Assert.Single(await store.PendingAsync("c1"));
        Assert.Equal(("m", 1, "receiver answered 503"), (row.Notification.Message, row.Attempts, row.LastError));
        Assert.Null(row.ClaimedBy);
        Assert.Null(row.ClaimedUntil);
        Assert.True(await store.TryClaimAsync("c1", row.Key, (null, null), "w", DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.False(await store.TryClaimAsync("c1", row.Key, (null, null), "v", DateTimeOffset.UtcNow.AddMinutes(1)));
    }
}
