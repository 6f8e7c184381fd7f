using System.Text.Json;
using Monitoring.Listings;
using Npgsql;
using NpgsqlTypes;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// Production's listings: one row per entry in the listing table, its filter fields in a JSONB column with a GIN
/// index, and a version so a late write never replaces a newer one.
/// </summary>
public sealed class PostgresListingStore(NpgsqlDataSource dataSource, string schema) : IListingStore
{
    private readonly string _table = $"{Schema.Quote(schema)}.listing";

    public async Task UpsertAsync<TEntry>(TEntry entry) where TEntry : IListingEntry<TEntry>
    {
        await using var command = dataSource.CreateCommand(
            $"INSERT INTO {_table} (kind, id, version, fields, payload) VALUES ($1, $2, $3, $4, $5) " +
            $"ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version, fields = EXCLUDED.fields, payload = EXCLUDED.payload, updated_at = now() " +
            $"WHERE {_table}.version <= EXCLUDED.version");
        command.Parameters.Add(new NpgsqlParameter { Value = TEntry.Kind });
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Version });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(entry.Fields()) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(entry, PostgresGrainStorage.Json) });
        await command.ExecuteNonQueryAsync();
    }

    public async Task RemoveAsync<TEntry>(string id) where TEntry : IListingEntry<TEntry>
    {
        await using var command = dataSource.CreateCommand($"DELETE FROM {_table} WHERE kind = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = TEntry.Kind });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(Dictionary<string, string> filter, int take, int skip, Dictionary<string, string>? exclude = null)
        where TEntry : IListingEntry<TEntry>
    {
        var where = "kind = $1 AND fields @> $2" + string.Concat((exclude ?? []).Select((_, i) => $" AND NOT fields @> ${5 + i}"));
        await using var command = dataSource.CreateCommand(
            $"SELECT payload, count(*) OVER () FROM {_table} WHERE {where} ORDER BY id COLLATE \"C\" LIMIT $3 OFFSET $4");
        command.Parameters.Add(new NpgsqlParameter { Value = TEntry.Kind });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(filter) });
        command.Parameters.Add(new NpgsqlParameter { Value = take });
        command.Parameters.Add(new NpgsqlParameter { Value = skip });
        foreach (var (field, value) in exclude ?? [])
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(new Dictionary<string, string> { [field] = value }) });
        }
        var items = new List<TEntry>();
        var total = 0;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(JsonSerializer.Deserialize<TEntry>(reader.GetString(0), PostgresGrainStorage.Json)!);
                total = (int)reader.GetInt64(1);
            }
        }
        if (items.Count == 0 && skip > 0)
        {
            // The page is past the end: count without it.
            var (_, all) = await QueryAsync<TEntry>(filter, int.MaxValue, 0, exclude);
            return ([], all);
        }
        return ([.. items], total);
    }

    public async Task<Dictionary<string, int>> CountByAsync<TEntry>(params string[] fields) where TEntry : IListingEntry<TEntry>
    {
        var key = string.Join(" || '|' || ", fields.Select((_, i) => $"coalesce(fields ->> ${i + 2}, '')"));
        await using var command = dataSource.CreateCommand($"SELECT {key}, count(*) FROM {_table} WHERE kind = $1 GROUP BY 1");
        command.Parameters.Add(new NpgsqlParameter { Value = TEntry.Kind });
        foreach (var field in fields) command.Parameters.Add(new NpgsqlParameter { Value = field });
        var counts = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) counts[reader.GetString(0)] = (int)reader.GetInt64(1);
        return counts;
    }
}
