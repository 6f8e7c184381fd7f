namespace Monitoring.History;

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
