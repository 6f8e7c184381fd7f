using System.Text.Json;
using Monitoring.Listings;
using Npgsql;
using NpgsqlTypes;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// Production's listings: one row per entry in the listing table, its filter fields in a JSONB column with a GIN
/// index, and a version so a late write never replaces a newer one. Writes go through the process's
/// <see cref="StatementBatcher"/> (group commit).
/// </summary>
public sealed class PostgresListingStore(NpgsqlDataSource dataSource, string schema, StatementBatcher batcher) : IListingStore
{
    private readonly string _table = $"{Schema.Quote(schema)}.listing";

    public async Task UpsertAsync<TEntry>(TEntry entry) where TEntry : IListingEntry<TEntry>
    {
        var sql = $"INSERT INTO {_table} (kind, id, version, fields, payload) VALUES ($1, $2, $3, $4, $5) " +
            $"ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version, fields = EXCLUDED.fields, payload = EXCLUDED.payload, updated_at = now() " +
            $"WHERE {_table}.version <= EXCLUDED.version RETURNING 1";
        StatementBatcher.Parameter[] parameters =
        [
            TEntry.Kind, entry.Id, entry.Version,
            StatementBatcher.Parameter.Jsonb(JsonSerializer.Serialize(entry.Fields())),
            StatementBatcher.Parameter.Jsonb(JsonSerializer.Serialize(entry, PostgresGrainStorage.Json)),
        ];
        await batcher.ExecuteAsync(sql, parameters);
    }

    public async Task RemoveAsync<TEntry>(string id) where TEntry : IListingEntry<TEntry>
    {
        var sql = $"DELETE FROM {_table} WHERE kind = $1 AND id = $2 RETURNING 1";
        StatementBatcher.Parameter[] parameters = [TEntry.Kind, id];
        await batcher.ExecuteAsync(sql, parameters);
    }

    public async Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(ListingQuery query) where TEntry : IListingEntry<TEntry>
    {
        var parameters = new List<NpgsqlParameter>
        {
            new() { Value = TEntry.Kind },
            new() { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(query.Filter) },
        };
        string Parameter(object value, NpgsqlDbType? type = null)
        {
            parameters.Add(type is { } t ? new NpgsqlParameter { NpgsqlDbType = t, Value = value } : new NpgsqlParameter { Value = value });
            return "$" + parameters.Count;
        }
        var where = new List<string> { "kind = $1", "fields @> $2" };
        if (query.Ids is { } ids) where.Add($"id = ANY({Parameter(ids, NpgsqlDbType.Array | NpgsqlDbType.Text)})");
        foreach (var (field, value) in query.Exclude ?? [])
        {
            where.Add($"NOT fields @> {Parameter(JsonSerializer.Serialize(new Dictionary<string, string> { [field] = value }), NpgsqlDbType.Jsonb)}");
        }
        foreach (var m in query.Matchers)
        {
            // A missing label matches as the empty string, as in Alertmanager; regexes are anchored.
            var field = $"coalesce(fields ->> {Parameter(m.Name)}, '')";
            where.Add(m.Operator switch
            {
                Monitoring.Silences.MatchOperator.Equal => $"{field} = {Parameter(m.Value)}",
                Monitoring.Silences.MatchOperator.NotEqual => $"{field} <> {Parameter(m.Value)}",
                Monitoring.Silences.MatchOperator.Regex => $"{field} ~ {Parameter($"^(?:{m.Value})$")}",
                _ => $"{field} !~ {Parameter($"^(?:{m.Value})$")}",
            });
        }
        if (query.Text is { Length: > 0 } text)
        {
            var like = Parameter("%" + text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%");
            where.Add($"(id ILIKE {like} OR coalesce(fields ->> 'name', '') ILIKE {like})");
        }
        var order = query.SortBy is { } sort
            ? $"(CASE WHEN fields ->> {Parameter(sort)} ~ '^-?[0-9.eE+-]+$' THEN (fields ->> ${parameters.Count})::double precision END) {(query.Descending ? "DESC" : "ASC")} NULLS LAST, id COLLATE \"C\""
            : string.Concat(query.WorstFirst.Select(rank =>
                  $"coalesce(array_position({Parameter(rank.Worst, NpgsqlDbType.Array | NpgsqlDbType.Text)}, fields ->> {Parameter(rank.Field)}), {rank.Worst.Length}), "))
              + "id COLLATE \"C\"";
        var take = Parameter(query.Take);
        var skip = Parameter(query.Skip);
        await using var command = dataSource.CreateCommand(
            $"SELECT payload, count(*) OVER () FROM {_table} WHERE {string.Join(" AND ", where)} ORDER BY {order} LIMIT {take} OFFSET {skip}");
        foreach (var parameter in parameters) command.Parameters.Add(parameter);
        // A user's regex runs in PostgreSQL: it gets a bounded time there too (the default is 30 s).
        command.CommandTimeout = 5;
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
        if (items.Count == 0 && query.Skip > 0)
        {
            // The page is past the end: count without it.
            var (_, all) = await QueryAsync<TEntry>(query with { Skip = 0, Take = int.MaxValue });
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
