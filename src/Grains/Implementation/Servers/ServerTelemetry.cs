using Monitoring.Observability;
using Monitoring.Probing;
using Monitoring.Servers.History;

namespace Monitoring.Servers;

/// <summary>
/// What a server holds of its telemetry: the bounded metric window rules see, the cumulative OTLP series turned into
/// the requests each point adds, and the long-range history objectives read. A push is recorded as one batch
/// (<see cref="Record"/>, then <see cref="Commit"/> or <see cref="TakeBack"/>), so a refused push never counts twice.
/// Both the window and the history are written behind (<see cref="SaveAsync"/>): the window at most every 30 s while
/// it changes, the history at most once a minute, and both when the grain deactivates.
/// </summary>
internal sealed class ServerTelemetry(
    TimeSpan metricWindow,
    IPersistentState<ServerWindowState> windowState,
    IPersistentState<ServerHistoryState> historyState,
    string serverId,
    ILogger logger)
{
    public static readonly TimeSpan WindowWriteBehind = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan HistoryWriteBehind = TimeSpan.FromMinutes(1);
    private readonly CumulativeSeries _cumulative = new();
    private readonly List<RequestAggregate> _historyPoints = [];
    private DateTimeOffset _windowSavedAt;
    private DateTimeOffset _historySavedAt;

    /// <summary>
    /// The window holds nothing an open alert has not already seen: only what was restored from storage (the snapshot
    /// is written behind, so it may be older than the breach an open alert saw: its silo died before the next write),
    /// or a refused push was just taken back (its alert may have fired on it; the resend brings it again). Until data
    /// arrives again, a clear condition the window yields is not evidence of recovery.
    /// </summary>
    private bool _restored;

    public MetricWindow Window { get; } = new(metricWindow);

    public ServerHistory History { get; } = new();

    /// <summary>Starts from what was stored; the snapshots are not kept in memory once read.</summary>
    public void Restore(DateTimeOffset activatedAt)
    {
        (_windowSavedAt, _historySavedAt) = (activatedAt, activatedAt);
        if (windowState.State.Data is { } data && !Window.Import(data, activatedAt))
        {
            logger.LogInformation("Server {ServerId}: the stored metric window has another length; starting empty", serverId);
        }
        _restored = Window.LastRecordedAt is not null;
        windowState.State.Data = null;
        if (historyState.State.Data is { } history && !History.Import(history))
        {
            logger.LogWarning("Server {ServerId}: its stored history is not one this version reads; starting empty", serverId);
        }
        historyState.State.Data = null;
    }

    /// <summary>While the window holds only restored (or taken back) data still within it: its newest moment; otherwise null.</summary>
    public DateTimeOffset? RestoredThrough(DateTimeOffset now) =>
        _restored && Window.LastRecordedAt is { } at && at > now - metricWindow ? at : null;

    /// <summary>
    /// Takes a push as one batch: recorded, then <paramref name="evaluate"/>d. Refused (an alert it made hold could not
    /// be told, or what that changed could not be stored), it is taken back whole, so the sender's resend is its only
    /// copy and nothing counts twice.
    /// </summary>
    public async Task<IngestResult> IngestAsync(TelemetryBatch batch, DateTimeOffset now, Func<Task<int>> evaluate)
    {
        var (accepted, summed, dropped) = Record(batch, now);
        int unreached;
        try
        {
            unreached = await evaluate();
        }
        catch
        {
            TakeBack();
            throw;
        }
        if (unreached > 0)
        {
            TakeBack();
            return new IngestResult(true, 0, 0) { Unreached = unreached };
        }
        Commit(batch, now);
        MonitoringMetrics.TelemetryRecordsIngested.Inc(accepted + summed);
        MonitoringMetrics.TelemetryRecordsDropped.Inc(dropped);
        return new IngestResult(true, Saturate(accepted + summed), Saturate(dropped));
    }

    private static int Saturate(long value) => (int)Math.Min(value, int.MaxValue);

    /// <summary>Records a push's requests, summed points and gauges into the window, uncommitted: how many were taken, summed and dropped.</summary>
    private (int Accepted, long Summed, long Dropped) Record(TelemetryBatch batch, DateTimeOffset now)
    {
        Window.Begin();
        _cumulative.Begin();
        var accepted = 0;
        foreach (var request in batch.Requests)
        {
            var isToolCall = request.Tool is not null || request.Method == "tools/call";
            if (Window.Record(request.Timestamp ?? now, now, request.DurationMs / 1000.0, request.Success, isToolCall)) accepted++;
        }
        var dropped = (long)batch.Requests.Length - accepted;
        long summed = 0;
        foreach (var point in batch.Aggregates)
        {
            if (_cumulative.ToDelta(point, now, metricWindow) is not { } delta) continue;
            if (delta.Count < 0)
            {
                dropped += point.Count;
                continue;
            }
            var isToolCall = delta.Tool is not null || delta.Method == "tools/call";
            _historyPoints.Add(delta);
            if (Window.RecordMany(delta.At, now, delta.Count, delta.Success, isToolCall, delta.SumSeconds, delta.BoundsSeconds, delta.BucketCounts, delta.MinSeconds, delta.MaxSeconds))
            {
                summed += delta.Count;
            }
            else
            {
                dropped += delta.Count;
            }
        }
        if (batch.Gauges is { } gauges) Window.RecordGauges(gauges, now);
        _restored &= accepted == 0 && summed == 0 && batch.Gauges is null;
        return (accepted, summed, dropped);
    }

    /// <summary>The push stands: the window and the series keep it, and the history takes its requests (even those too old for the window) and its summed points.</summary>
    private void Commit(TelemetryBatch batch, DateTimeOffset now)
    {
        Window.Commit();
        _cumulative.Commit();
        foreach (var request in batch.Requests)
        {
            History.RecordRequest(request.Timestamp ?? now, now, request.DurationMs / 1000.0, request.Success, request.Tool);
        }
        foreach (var point in _historyPoints)
        {
            History.RecordMany(point.At, now, point.Count, point.Success, point.SumSeconds, point.BoundsSeconds, point.BucketCounts, point.MaxSeconds, point.Tool);
        }
        _historyPoints.Clear();
    }

    /// <summary>
    /// Takes a refused push back. An alert may already have fired on it (its state was stored before the part that
    /// failed): what the window yields without it does not resolve that alert until data arrives again, the resend first.
    /// </summary>
    private void TakeBack()
    {
        _historyPoints.Clear();
        Window.Rollback();
        _cumulative.Rollback();
        _restored = true;
    }

    public void RecordProbe(ProbeResult probe, DateTimeOffset now) => History.RecordProbe(probe.At, now, probe.Outcome == CheckOutcome.Ok);

    /// <summary>Writes what changed and is due (everything that changed, with <paramref name="force"/>, at deactivation).</summary>
    public async Task SaveAsync(DateTimeOffset now, bool force)
    {
        if (Window.Changed && (force || now - _windowSavedAt >= WindowWriteBehind))
        {
            windowState.State.Data = Window.Export(now);
            windowState.State.At = now;
            if (await StoreBehindAsync(windowState, () => windowState.State.Data = null, "metric window")) _windowSavedAt = now;
            else Window.ExportLost();
        }
        if (History.Changed && (force || now - _historySavedAt >= HistoryWriteBehind))
        {
            historyState.State.Data = History.Export(now);
            historyState.State.At = now;
            if (await StoreBehindAsync(historyState, () => historyState.State.Data = null, "history")) _historySavedAt = now;
            else History.ExportLost();
        }
    }

    public async Task ClearAsync()
    {
        await windowState.ClearStateAsync();
        await historyState.ClearStateAsync();
    }

    /// <summary>
    /// Stores a snapshot written behind and then lets go of it (<paramref name="release"/>): answers whether it was
    /// stored. Refused as stale, an older activation stored its snapshot after this one read it: this one's is the
    /// newer, and the next write, from the version read now, replaces it. Any failure is logged and left to the next write.
    /// </summary>
    private async Task<bool> StoreBehindAsync<T>(IPersistentState<T> snapshot, Action release, string what)
    {
        try
        {
            await snapshot.WriteStateAsync();
            return true;
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            try
            {
                await snapshot.ReadStateAsync();
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Server {ServerId}: its stored {What} could not be read again; trying again", serverId, what);
            }
            return false;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Server {ServerId}: its {What} could not be stored; trying again", serverId, what);
            return false;
        }
        finally
        {
            release();
        }
    }
}
