using System.Text.Json;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Npgsql;
using NpgsqlTypes;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// The channels' outbox in PostgreSQL: a row per channel and idempotency key. Recording is an insert that does nothing
/// for a key already there, so dedup holds across silos and restarts; finishing keeps the row (without the message) as
/// the delivery log and the memory of the key, until the retention prunes it. Recording, updating and finishing go
/// through the group commit.
/// </summary>
public sealed class PostgresOutboxStore(NpgsqlDataSource dataSource, string schema, StatementBatcher batcher) : IOutboxStore
{
    private readonly string _table = $"{Schema.Quote(schema)}.outbox";

    public async Task<bool> TryRecordAsync(string channelId, OutboxEntry entry)
    {
        var n = entry.Notification;
        var inserted = await StorageErrors.GuardAsync("outbox", "record", () => batcher.ExecuteAsync(
            $"INSERT INTO {_table} (channel_id, idempotency_key, alert_id, kind, state, attempts, recorded_at, updated_at, last_error, notification, claimed_by, claimed_until) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING 1",
            channelId, n.IdempotencyKey, n.AlertId, Kind(n.Kind), entry.Held ? "held" : "pending", entry.Attempts,
            new StatementBatcher.Parameter(entry.RecordedAt), new StatementBatcher.Parameter(entry.UpdatedAt), StatementBatcher.Parameter.OrNull(entry.LastError),
            StatementBatcher.Parameter.Jsonb(JsonSerializer.Serialize(n, PostgresGrainStorage.Json)),
            Text(entry.ClaimedBy), Time(entry.ClaimedUntil)));
        return inserted == 1;
    }

    public async Task<bool> TryClaimAsync(string channelId, string key, (string? Owner, DateTimeOffset? Until) seen, string owner, DateTimeOffset until) =>
        await StorageErrors.GuardAsync("outbox", "claim", () => batcher.ExecuteAsync(
            $"UPDATE {_table} SET claimed_by = $5, claimed_until = $6 WHERE channel_id = $1 AND idempotency_key = $2 AND state IN ('pending', 'held') " +
            "AND claimed_by IS NOT DISTINCT FROM $3 AND claimed_until IS NOT DISTINCT FROM $4 RETURNING 1",
            channelId, key, Text(seen.Owner), Time(seen.Until), owner, new StatementBatcher.Parameter(until))) == 1;

    public Task UpdateAsync(string channelId, OutboxEntry entry) =>
        StorageErrors.GuardAsync("outbox", "update", () => batcher.ExecuteAsync(
            $"UPDATE {_table} SET state = $3, attempts = $4, updated_at = $5, last_error = $6 WHERE channel_id = $1 AND idempotency_key = $2 AND state IN ('pending', 'held') RETURNING 1",
            channelId, entry.Notification.IdempotencyKey, entry.Held ? "held" : "pending", entry.Attempts,
            new StatementBatcher.Parameter(entry.UpdatedAt), StatementBatcher.Parameter.OrNull(entry.LastError)));

    public Task FinishAsync(string channelId, DeliveryRecord r) =>
        StorageErrors.GuardAsync("outbox", "finish", () => batcher.ExecuteAsync(
            $"INSERT INTO {_table} (channel_id, idempotency_key, alert_id, kind, state, attempts, recorded_at, updated_at, last_error, notification) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) ON CONFLICT (channel_id, idempotency_key) DO UPDATE SET " +
            "state = EXCLUDED.state, attempts = EXCLUDED.attempts, updated_at = EXCLUDED.updated_at, last_error = EXCLUDED.last_error, notification = NULL RETURNING 1",
            channelId, r.IdempotencyKey, r.AlertId, Kind(r.Kind), r.State.ToString().ToLowerInvariant(), r.Attempts,
            new StatementBatcher.Parameter(r.RecordedAt), new StatementBatcher.Parameter(r.UpdatedAt), StatementBatcher.Parameter.OrNull(r.LastError)));

    public async Task<IReadOnlyList<OutboxEntry>> PendingAsync(string channelId)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT notification::text, recorded_at, attempts, updated_at, last_error, state, claimed_by, claimed_until FROM {_table} " +
            "WHERE channel_id = $1 AND state IN ('pending', 'held') ORDER BY recorded_at");
        Add(command, channelId);
        var entries = new List<OutboxEntry>();
        await StorageErrors.GuardAsync("outbox", "read", async () =>
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                entries.Add(new OutboxEntry
                {
                    Notification = JsonSerializer.Deserialize<Notification>(reader.GetString(0), PostgresGrainStorage.Json)!,
                    RecordedAt = reader.GetFieldValue<DateTimeOffset>(1),
                    Attempts = reader.GetInt32(2),
                    UpdatedAt = reader.GetFieldValue<DateTimeOffset>(3),
                    LastError = reader.IsDBNull(4) ? null : reader.GetString(4),
                    Held = reader.GetString(5) == "held",
                    ClaimedBy = reader.IsDBNull(6) ? null : reader.GetString(6),
                    ClaimedUntil = reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
                });
            }
            return 0;
        });
        return entries;
    }

    public async Task<bool> AnyPendingAsync(string channelId)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT EXISTS (SELECT 1 FROM {_table} WHERE channel_id = $1 AND state IN ('pending', 'held'))");
        Add(command, channelId);
        return await StorageErrors.GuardAsync("outbox", "read", async () => (bool)(await command.ExecuteScalarAsync())!);
    }

    public async Task<IReadOnlyList<DeliveryRecord>> FinishedAsync(string channelId, int limit)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT idempotency_key, alert_id, kind, state, attempts, recorded_at, updated_at, last_error FROM {_table} " +
            "WHERE channel_id = $1 AND state NOT IN ('pending', 'held') ORDER BY updated_at DESC LIMIT $2");
        Add(command, channelId, limit);
        var records = new List<DeliveryRecord>();
        await StorageErrors.GuardAsync("outbox", "read", async () =>
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                records.Add(new DeliveryRecord(reader.GetString(0), reader.GetString(1), channelId,
                    Enum.Parse<NotificationKind>(reader.GetString(2), ignoreCase: true), Enum.Parse<DeliveryState>(reader.GetString(3), ignoreCase: true),
                    reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
            return 0;
        });
        return records;
    }

    public async Task PruneAsync(string channelId, DateTimeOffset olderThan)
    {
        await using var command = dataSource.CreateCommand(
            $"DELETE FROM {_table} WHERE channel_id = $1 AND state NOT IN ('pending', 'held') AND updated_at < $2");
        Add(command, channelId, olderThan);
        await StorageErrors.GuardAsync("outbox", "prune", () => command.ExecuteNonQueryAsync());
    }

    public async Task DeleteChannelAsync(string channelId)
    {
        await using var command = dataSource.CreateCommand($"DELETE FROM {_table} WHERE channel_id = $1");
        Add(command, channelId);
        await StorageErrors.GuardAsync("outbox", "delete", () => command.ExecuteNonQueryAsync());
    }

    private static StatementBatcher.Parameter Text(string? value) => new((object?)value ?? DBNull.Value, NpgsqlDbType.Text);

    private static StatementBatcher.Parameter Time(DateTimeOffset? value) => value is { } at ? new(at) : new(DBNull.Value, NpgsqlDbType.TimestampTz);

    private static string Kind(NotificationKind kind) => kind.ToString().ToLowerInvariant();

    private static void Add(NpgsqlCommand command, params object?[] values)
    {
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
    }
}
