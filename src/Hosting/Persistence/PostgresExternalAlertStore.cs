using System.Text.Json;
using Monitoring.External;
using NpgsqlTypes;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// External alerts in PostgreSQL, a row per alert (<c>external_alert</c>): a batch's changed alerts are one upsert, its
/// removed ones one delete, through the group commit.
/// </summary>
public sealed class PostgresExternalAlertStore(string schema, StatementBatcher batcher) : IExternalAlertStore
{
    private readonly string _table = $"{Schema.Quote(schema)}.external_alert";

    public Task<IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>>> LoadAsync(int partition) =>
        StorageErrors.GuardAsync("externalalerts", "read", () => batcher.RunAsync(
            $"SELECT fingerprint, payload::text FROM {_table} WHERE partition = $1", [partition],
            async reader =>
            {
                var alerts = new List<KeyValuePair<string, ExternalAlertRecord>>();
                while (await reader.ReadAsync())
                {
                    alerts.Add(KeyValuePair.Create(reader.GetString(0), JsonSerializer.Deserialize<ExternalAlertRecord>(reader.GetString(1), PostgresGrainStorage.Json)!));
                }
                return (IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>>)alerts;
            }));

    public Task SaveAsync(int partition, IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>> changed, IReadOnlyList<string> removed)
    {
        // Serialized now, before the first await: the grain goes on changing its records once this returns.
        var fingerprints = changed.Select(c => c.Key).ToArray();
        var payloads = changed.Select(c => JsonSerializer.Serialize(c.Value, PostgresGrainStorage.Json)).ToArray();
        var gone = removed.ToArray();
        return StorageErrors.GuardAsync("externalalerts", "write", async () =>
        {
            var writes = new List<Task<int>>(2);
            if (fingerprints.Length > 0)
            {
                writes.Add(batcher.ExecuteAsync(
                    $"INSERT INTO {_table} (partition, fingerprint, payload, updated_at) SELECT $1, f, p, now() FROM unnest($2::text[], $3::jsonb[]) AS t(f, p) " +
                    "ON CONFLICT (partition, fingerprint) DO UPDATE SET payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at RETURNING 1",
                    partition, new StatementBatcher.Parameter(fingerprints, NpgsqlDbType.Array | NpgsqlDbType.Text),
                    new StatementBatcher.Parameter(payloads, NpgsqlDbType.Array | NpgsqlDbType.Jsonb)));
            }
            if (gone.Length > 0)
            {
                writes.Add(batcher.ExecuteAsync(
                    $"DELETE FROM {_table} WHERE partition = $1 AND fingerprint = ANY($2::text[]) RETURNING 1",
                    partition, new StatementBatcher.Parameter(gone, NpgsqlDbType.Array | NpgsqlDbType.Text)));
            }
            await Task.WhenAll(writes);
            return 0;
        });
    }
}
