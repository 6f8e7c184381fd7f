using System.Collections.Concurrent;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

using Monitoring.Hosting.Persistence;

namespace Monitoring.Api.Audit;

/// <summary>One configuration change: who, what, when, and the resource before and after (as the API shows it, secrets redacted).</summary>
public sealed record AuditEntry(
    long Id, DateTimeOffset At, string Actor, string Action, string Kind, string ResourceId, JsonElement? Before, JsonElement? After);

public sealed record AuditQuery(string? Kind, string? ResourceId, string? Actor, int Limit, int Offset);

/// <summary>The audit log: append-only. PostgreSQL in production, the most recent entries in memory in the embedded mode.</summary>
public interface IAuditLog
{
    Task AppendAsync(DateTimeOffset at, string actor, string action, string kind, string resourceId, object? before, object? after);

    Task<(AuditEntry[] Entries, long Total)> QueryAsync(AuditQuery query);
}

public sealed class PostgresAuditLog(NpgsqlDataSource dataSource, string schema) : IAuditLog
{
    private readonly string _table = $"{Schema.Quote(schema)}.audit_log";

    public async Task AppendAsync(DateTimeOffset at, string actor, string action, string kind, string resourceId, object? before, object? after)
    {
        await using var command = dataSource.CreateCommand(
            $"INSERT INTO {_table} (at, actor, action, kind, resource_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        foreach (var value in new object[] { at, actor, action, kind, resourceId })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = before is null ? DBNull.Value : JsonSerializer.Serialize(before, AuditJson.Options) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = after is null ? DBNull.Value : JsonSerializer.Serialize(after, AuditJson.Options) });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<(AuditEntry[] Entries, long Total)> QueryAsync(AuditQuery q)
    {
        var where = new List<string>();
        var values = new List<object>();
        void Filter(string column, string? value)
        {
            if (value is null) return;
            values.Add(value);
            where.Add($"{column} = ${values.Count}");
        }
        Filter("kind", q.Kind);
        Filter("resource_id", q.ResourceId);
        Filter("actor", q.Actor);
        var clause = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        await using var command = dataSource.CreateCommand(
            $"SELECT id, at, actor, action, kind, resource_id, before::text, after::text, count(*) OVER () FROM {_table} {clause} ORDER BY id DESC LIMIT {q.Limit} OFFSET {q.Offset}");
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        var entries = new List<AuditEntry>();
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            JsonElement? Json(int i) => reader.IsDBNull(i) ? null : JsonDocument.Parse(reader.GetString(i)).RootElement.Clone();
            entries.Add(new AuditEntry(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), Json(6), Json(7)));
            total = reader.GetInt64(8);
        }
        return ([.. entries], total);
    }
}

public sealed class InMemoryAuditLog : IAuditLog
{
    private const int Capacity = 10_000;
    private readonly ConcurrentQueue<AuditEntry> _entries = new();
    private long _next;

    public Task AppendAsync(DateTimeOffset at, string actor, string action, string kind, string resourceId, object? before, object? after)
    {
        _entries.Enqueue(new AuditEntry(Interlocked.Increment(ref _next), at, actor, action, kind, resourceId, AuditJson.Element(before), AuditJson.Element(after)));
        while (_entries.Count > Capacity && _entries.TryDequeue(out _)) { }
        return Task.CompletedTask;
    }

    public Task<(AuditEntry[] Entries, long Total)> QueryAsync(AuditQuery q)
    {
        var matching = _entries.Where(e => (q.Kind is null || e.Kind == q.Kind) && (q.ResourceId is null || e.ResourceId == q.ResourceId)
            && (q.Actor is null || e.Actor == q.Actor)).OrderByDescending(e => e.Id).ToList();
        return Task.FromResult<(AuditEntry[], long)>(([.. matching.Skip(q.Offset).Take(q.Limit)], matching.Count));
    }
}

public static class AuditJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static JsonElement? Element(object? value) => value is null ? null : JsonSerializer.SerializeToElement(value, Options);
}
