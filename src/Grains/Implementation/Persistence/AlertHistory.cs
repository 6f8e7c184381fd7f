using System.Collections.Concurrent;
using Npgsql;

namespace Monitoring.Persistence;

/// <summary>One alert transition, as the history keeps it.</summary>
public sealed record TransitionRow(
    string AlertId, string RuleId, string ServerId, string Severity, string From, string To, string Reason, int Episode, int Sequence, DateTimeOffset At);

/// <summary>One delivery attempt of one notification, as the history keeps it.</summary>
public sealed record DeliveryRow(
    string IdempotencyKey, string AlertId, string ChannelId, string Kind, string Status, int Attempts, string? Error, DateTimeOffset At);

/// <summary>A filter and a page over the transition history.</summary>
public sealed record HistoryQuery(
    string? ServerId, string? RuleId, string? Severity, string? Status, DateTimeOffset? From, DateTimeOffset? To, int Limit, int Offset);

/// <summary>
/// The append-only history of alert transitions and notification attempts. Production writes it to PostgreSQL and
/// serves queries with SQL; the embedded mode keeps the most recent rows in memory.
/// </summary>
public interface IAlertHistory
{
    /// <summary>Appends transitions; a (alert, sequence) already stored is skipped, so a retried append is harmless.</summary>
    Task AppendTransitionsAsync(IReadOnlyCollection<TransitionRow> rows);

    Task AppendDeliveryAsync(DeliveryRow row);

    Task<(TransitionRow[] Rows, long Total)> QueryAsync(HistoryQuery query);
}

public sealed class PostgresAlertHistory(NpgsqlDataSource dataSource, string schema) : IAlertHistory
{
    private readonly string _s = Schema.Quote(schema);

    public async Task AppendTransitionsAsync(IReadOnlyCollection<TransitionRow> rows)
    {
        if (rows.Count == 0) return;
        await using var batch = dataSource.CreateBatch();
        foreach (var r in rows)
        {
            var command = new NpgsqlBatchCommand(
                $"INSERT INTO {_s}.alert_history (alert_id, rule_id, server_id, severity, from_status, to_status, reason, episode, sequence, at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (alert_id, sequence) DO NOTHING");
            foreach (var value in new object[] { r.AlertId, r.RuleId, r.ServerId, r.Severity, r.From, r.To, r.Reason, r.Episode, r.Sequence, r.At })
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync();
    }

    public async Task AppendDeliveryAsync(DeliveryRow r)
    {
        await using var command = dataSource.CreateCommand(
            $"INSERT INTO {_s}.notification_history (idempotency_key, alert_id, channel_id, kind, status, attempts, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        foreach (var value in new object?[] { r.IdempotencyKey, r.AlertId, r.ChannelId, r.Kind, r.Status, r.Attempts, r.Error, r.At })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        await command.ExecuteNonQueryAsync();
    }

    public async Task<(TransitionRow[] Rows, long Total)> QueryAsync(HistoryQuery q)
    {
        var where = new List<string>();
        var parameters = new List<object>();
        void Filter(string column, string op, object? value)
        {
            if (value is null) return;
            parameters.Add(value);
            where.Add($"{column} {op} ${parameters.Count}");
        }
        Filter("server_id", "=", q.ServerId);
        Filter("rule_id", "=", q.RuleId);
        Filter("severity", "=", q.Severity);
        Filter("to_status", "=", q.Status);
        Filter("at", ">=", q.From);
        Filter("at", "<", q.To);
        var clause = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        await using var command = dataSource.CreateCommand(
            $"SELECT alert_id, rule_id, server_id, severity, from_status, to_status, reason, episode, sequence, at, count(*) OVER () " +
            $"FROM {_s}.alert_history {clause} ORDER BY at DESC, id DESC LIMIT {q.Limit} OFFSET {q.Offset}");
        foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
        var rows = new List<TransitionRow>();
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new TransitionRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetInt32(7), reader.GetInt32(8), reader.GetFieldValue<DateTimeOffset>(9)));
            total = reader.GetInt64(10);
        }
        if (rows.Count == 0 && q.Offset > 0)
        {
            await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {_s}.alert_history {clause}");
            foreach (var value in parameters) count.Parameters.Add(new NpgsqlParameter { Value = value });
            total = (long)(await count.ExecuteScalarAsync())!;
        }
        return ([.. rows], total);
    }
}

/// <summary>The embedded mode's history: the most recent rows, in memory, gone with the process.</summary>
public sealed class InMemoryAlertHistory : IAlertHistory
{
    private const int Capacity = 100_000;
    private readonly ConcurrentQueue<TransitionRow> _transitions = new();
    private readonly ConcurrentDictionary<(string, int), bool> _seen = new();

    public Task AppendTransitionsAsync(IReadOnlyCollection<TransitionRow> rows)
    {
        foreach (var row in rows)
        {
            if (!_seen.TryAdd((row.AlertId, row.Sequence), true)) continue;
            _transitions.Enqueue(row);
            while (_transitions.Count > Capacity && _transitions.TryDequeue(out var old)) _seen.TryRemove((old.AlertId, old.Sequence), out _);
        }
        return Task.CompletedTask;
    }

    public Task AppendDeliveryAsync(DeliveryRow row) => Task.CompletedTask;

    public Task<(TransitionRow[] Rows, long Total)> QueryAsync(HistoryQuery q)
    {
        var matching = _transitions.Where(r =>
                (q.ServerId is null || r.ServerId == q.ServerId) && (q.RuleId is null || r.RuleId == q.RuleId)
                && (q.Severity is null || r.Severity == q.Severity) && (q.Status is null || r.To == q.Status)
                && (q.From is null || r.At >= q.From) && (q.To is null || r.At < q.To))
            .Reverse().ToList();
        return Task.FromResult<(TransitionRow[], long)>(([.. matching.Skip(q.Offset).Take(q.Limit)], matching.Count));
    }
}
