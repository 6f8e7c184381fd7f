using Monitoring.Servers.History;

namespace Monitoring.Servers;

/// <summary>A server's long-range history as stored: <see cref="ServerHistory.Export"/>'s bytes, written behind.</summary>
[GenerateSerializer, Alias("mcp.ServerHistoryState")]
public sealed class ServerHistoryState
{
    [Id(0), JsonPropertyName("Data")] public byte[]? Data { get; set; }
    [Id(1), JsonPropertyName("At")] public DateTimeOffset At { get; set; }
}

/// <summary>
/// The server's long-range history (<see cref="ServerHistory"/>): fed by the telemetry a push commits and by every
/// probe, read by objectives and by the summary, and written behind at most once a minute.
/// </summary>
public sealed partial class McpServerGrain
{
    public static readonly TimeSpan HistoryWriteBehind = TimeSpan.FromMinutes(1);
    private readonly ServerHistory _history = new();
    private readonly List<RequestAggregate> _historyPoints = [];
    private DateTimeOffset _historySavedAt;

    public Task<HistoryAnswer?> GetHistoryAsync(TotalsQuery query) =>
        Task.FromResult(state.State.Server is null ? null : _history.Answer(query, time.GetUtcNow()));

    public Task<ServerHistorySummary?> GetSummaryAsync(TimeSpan window) =>
        Task.FromResult(state.State.Server is null ? null : _history.Summary(window, time.GetUtcNow()));

    private void RestoreHistory()
    {
        _historySavedAt = _activatedAt;
        if (historyState.State.Data is { } data && !_history.Import(data))
        {
            logger.LogWarning("Server {ServerId}: its stored history is not one this version reads; starting empty", ServerId);
        }
        historyState.State.Data = null; // the history in memory is the copy
    }

    /// <summary>What a committed push adds to the history: its requests (even those too old for the window) and its summed points.</summary>
    private void RecordHistory(TelemetryBatch batch, DateTimeOffset now)
    {
        foreach (var request in batch.Requests)
        {
            _history.RecordRequest(request.Timestamp ?? now, now, request.DurationMs / 1000.0, request.Success, request.Tool);
        }
        foreach (var point in _historyPoints)
        {
            _history.RecordMany(point.At, now, point.Count, point.Success, point.SumSeconds, point.BoundsSeconds, point.BucketCounts, point.MaxSeconds, point.Tool);
        }
        _historyPoints.Clear();
    }

    private void RecordProbeHistory(ProbeResult probe) => _history.RecordProbe(probe.At, time.GetUtcNow(), probe.Outcome == CheckOutcome.Ok);

    /// <summary>Writes the history when it changed and a minute has passed since the last write (or, with <paramref name="force"/>, at deactivation).</summary>
    private async Task SaveHistoryAsync(bool force)
    {
        var now = time.GetUtcNow();
        if (state.State.Server is null || !_history.Changed || (!force && now - _historySavedAt < HistoryWriteBehind)) return;
        historyState.State.Data = _history.Export(now);
        historyState.State.At = now;
        if (await StoreBehindAsync(historyState, () => historyState.State.Data = null, "history")) _historySavedAt = now;
        else _history.ExportLost();
    }
}
