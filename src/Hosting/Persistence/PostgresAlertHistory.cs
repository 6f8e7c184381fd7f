using Monitoring.History;
using Npgsql;

namespace Monitoring.Hosting.Persistence;

/// <summary>The alert and notification history in PostgreSQL, queried with SQL.</summary>
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
