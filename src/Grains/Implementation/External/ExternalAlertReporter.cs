using Monitoring.Routing;
using Monitoring.Settings;

namespace Monitoring.External;

/// <summary>
/// Tells the incidents the routing tree puts a partition's alerts in, and the inhibitors, what each alert is: the alerts
/// marked due, a batch at a time, the calls of a batch together. One round runs at a time, in the grain's turns. A batch
/// that could not be told is due again after <see cref="Retry"/>. What telling changed of an alert (its routes, its
/// sequence) is marked in the rows and said through <c>changed</c>, for the grain to store behind.
/// </summary>
internal sealed class ExternalAlertReporter(
    IGrainFactory grains,
    RoutingCache routing,
    ExternalAlertRows rows,
    SiloStopping stopping,
    TimeProvider time,
    ILogger logger,
    int partition,
    Action changed,
    Action finished)
{
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(5);
    private const int Batch = 256;
    private readonly HashSet<string> _due = new(StringComparer.Ordinal);
    private Task? _running;

    /// <summary>When a batch that failed is tried again; nothing is told before then.</summary>
    public DateTimeOffset? RetryAt { get; private set; }

    public bool IsDue(string fingerprint) => _due.Contains(fingerprint);

    public void Due(string fingerprint) => _due.Add(fingerprint);

    /// <summary>Starts a round if one is due and none runs (nor waits for its retry).</summary>
    public void Start(DateTimeOffset now)
    {
        if (RetryAt is { } retry && retry <= now) RetryAt = null;
        if (_running is null && _due.Count > 0 && RetryAt is null) _running = RunAsync();
    }

    private async Task RunAsync()
    {
        try
        {
            await Task.Yield();
            while (_due.Count > 0 && !stopping.IsStopping)
            {
                var batch = _due.Take(Batch).ToArray();
                foreach (var fingerprint in batch) _due.Remove(fingerprint);
                var set = await routing.GetAsync();
                var now = time.GetUtcNow();
                var calls = new List<Task>(batch.Length);
                var any = false;
                foreach (var fingerprint in batch)
                {
                    if (rows.Alerts.TryGetValue(fingerprint, out var alert) && Tell(fingerprint, alert, set, now, calls))
                    {
                        rows.Changed(fingerprint);
                        any = true;
                    }
                }
                try
                {
                    await Task.WhenAll(calls);
                }
                catch (Exception e)
                {
                    foreach (var fingerprint in batch) _due.Add(fingerprint);
                    RetryAt = time.GetUtcNow() + Retry;
                    logger.LogWarning(e, "External alerts partition {Partition}: {Count} alerts not yet told to their incidents; will try again", partition, batch.Length);
                    break;
                }
                if (any) changed();
            }
        }
        finally
        {
            _running = null;
            finished();
        }
    }

    /// <summary>
    /// Tells the alert's incidents (and the inhibitors) what it is. Answers whether what is stored of it changed: a
    /// reminder's re-assertion of an unchanged alert keeps its sequence, so an incident that has it ignores it and one
    /// that lost it (a join stored behind) takes it again, and neither this partition nor the incident writes.
    /// </summary>
    private bool Tell(string fingerprint, ExternalAlertRecord alert, RoutingSet set, DateTimeOffset now, List<Task> calls)
    {
        var status = ExternalAlertLife.StatusOf(alert, now);
        var alertId = ExternalAlerts.AlertId(fingerprint);
        var changed = false;
        var (source, tellInhibitors) = Dispatch.ToInhibitors(grains, set, alertId, alert.Labels, status != MemberStatus.Resolved, alert.Inhibiting);
        if (tellInhibitors is not null)
        {
            calls.Add(tellInhibitors);
            alert.Inhibiting = source;
            changed = true;
        }
        if (status == MemberStatus.Resolved && alert.ReportedStatus is null or MemberStatus.Resolved)
        {
            changed |= alert.ReportedStatus != status || alert.ReportedEpisode != alert.Episode;
            alert.ReportedStatus = status;
            alert.ReportedEpisode = alert.Episode;
            return changed; // never told as firing: nothing to take back
        }
        var routes = Dispatch.RoutesOf(set, status, alert.Labels, alert.Routes);
        if (ExternalAlertLife.IsNews(alert, status, routes))
        {
            alert.Sequence++;
            changed = true;
        }
        Dispatch.ToIncidents(grains, routes, alert.Routes, ExternalAlertLife.Member(fingerprint, alert, status), now, calls);
        alert.Routes = routes;
        alert.ReportedStatus = status;
        alert.ReportedEpisode = alert.Episode;
        return changed;
    }
}
