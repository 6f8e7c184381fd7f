using System.Collections.Concurrent;

namespace Monitoring.History;

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
