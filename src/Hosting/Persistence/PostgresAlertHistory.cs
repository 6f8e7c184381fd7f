using Monitoring.History;
using Npgsql;

namespace Monitoring.Hosting.Persistence;

/// <summary>The alert and notification history in PostgreSQL, queried with SQL; rows are written through the group commit.</summary>
public sealed class PostgresAlertHistory(NpgsqlDataSource dataSource, string schema, StatementBatcher batcher) : IAlertHistory
{
    private readonly string _s = Schema.Quote(schema);

    public async Task AppendTransitionsAsync(IReadOnlyCollection<TransitionRow> rows)
    {
        // A row already there (the same alert and sequence, written before a retry) is left as it is.
        await Task.WhenAll(rows.Select(r => batcher.ExecuteAsync(
            $"INSERT INTO {_s}.alert_history (alert_id, rule_id, server_id, severity, from_status, to_status, reason, episode, sequence, at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (alert_id, sequence) DO NOTHING RETURNING 1",
            r.AlertId, r.RuleId, r.ServerId, r.Severity, r.From, r.To, r.Reason, r.Episode, r.Sequence, new StatementBatcher.Parameter(r.At))));
    }

    public async Task AppendDeliveryAsync(DeliveryRow r) =>
        await batcher.ExecuteAsync(
            $"INSERT INTO {_s}.notification_history (idempotency_key, alert_id, channel_id, kind, status, attempts, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING 1",
            r.IdempotencyKey, r.AlertId, r.ChannelId, r.Kind, r.Status, r.Attempts, StatementBatcher.Parameter.OrNull(r.Error), new StatementBatcher.Parameter(r.At));

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
