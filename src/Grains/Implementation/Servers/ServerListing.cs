using Monitoring.Listings;
using Monitoring.Probing;
using Monitoring.Rules.Conditions;

namespace Monitoring.Servers;

/// <summary>
/// What a server shows: the metrics its rules see with its health verdict (<see cref="Assess"/>), its status, and its
/// listing entry. The entry is written at once when the verdict, <c>up</c> or the open alerts change, and with fresh
/// metrics and reasons at most once a minute otherwise, so a fleet of 10,000 is not a write per evaluation. A write
/// that fails is tried again with the next evaluation.
/// </summary>
internal sealed class ServerListing(
    IListingStore listings, string serverId, Func<McpServerState> state, ServerTelemetry telemetry, ActiveChecks checks, DateTimeOffset activatedAt, ILogger logger)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private ServerEntry? _listed;

    /// <summary>The metrics rules see and the health verdict (<see cref="ActiveChecks.Assess"/>); data's age counts from the registration or this activation.</summary>
    public (Dictionary<string, double> Metrics, HealthVerdict Verdict) Assess(McpServer server, DateTimeOffset now) => Assess(server, now, telemetry.Window.Snapshot(now));

    private (Dictionary<string, double> Metrics, HealthVerdict Verdict) Assess(McpServer server, DateTimeOffset now, WindowSnapshot snapshot) =>
        checks.Assess(server, telemetry.Window, snapshot, server.CreatedAt > activatedAt ? server.CreatedAt : activatedAt, now);

    public ServerStatus Status(McpServer server, DateTimeOffset now)
    {
        var snapshot = telemetry.Window.Snapshot(now);
        var (metrics, verdict) = Assess(server, now, snapshot);
        var s = state();
        return new ServerStatus(server, metrics, telemetry.Window.LastRecordedAt, snapshot.RequestsInWindow,
            [.. s.OpenAlertRules.Select(r => Alerts.AlertIds.For(r, serverId))])
        {
            Health = verdict,
            LastProbe = checks.LastProbe,
            LastScrape = checks.LastScrape,
            LastHealthReport = checks.LastReport,
            Tools = s.KnownTools ?? [],
            LastToolSetChange = s.LastToolSetChange,
            Series = telemetry.Window.Series(now),
        };
    }

    /// <summary>Keeps the listing entry current, assessing the server when the caller has not.</summary>
    public Task ListAsync(DateTimeOffset now, bool force, (Dictionary<string, double> Metrics, HealthVerdict Verdict)? assessed = null)
    {
        if (state().Server is not { } server) return Task.CompletedTask;
        var (metrics, verdict) = assessed ?? Assess(server, now);
        return ListAsync(server, state().OpenAlertRules.Count, metrics, verdict, now, force);
    }

    private async Task ListAsync(McpServer server, int openAlerts, Dictionary<string, double> metrics, HealthVerdict verdict, DateTimeOffset now, bool force)
    {
        var entry = new ServerEntry(server)
        {
            Health = verdict.State.ToString().ToLowerInvariant(),
            HealthReasons = verdict.Reasons,
            Metrics = ServerEntry.ListedMetrics.Where(metrics.ContainsKey).ToDictionary(m => m, m => Math.Round(metrics[m], 6)),
            OpenAlerts = openAlerts,
            ListedAt = now,
        };
        var listed = _listed;
        var urgent = force || listed is null || listed.Health != entry.Health || listed.OpenAlerts != entry.OpenAlerts
            || listed.Metrics.GetValueOrDefault(MetricNames.Up, -1) != entry.Metrics.GetValueOrDefault(MetricNames.Up, -1);
        // The reasons carry figures (an error share, a latency, an age) that move with every evaluation: like the
        // metrics, they are refreshed once a minute, or a fleet's listing would be written every 15 s a server.
        var stale = listed is not null && now - listed.ListedAt >= Refresh
            && (!listed.Metrics.OrderBy(m => m.Key).SequenceEqual(entry.Metrics.OrderBy(m => m.Key)) || !listed.HealthReasons.SequenceEqual(entry.HealthReasons));
        if (!urgent && !stale) return;
        if (await listings.TryUpsertAsync(entry) is { } failed)
        {
            logger.LogWarning(failed, "Server {ServerId}: its listing entry could not be written; trying again with the next evaluation", serverId);
            return;
        }
        _listed = entry;
    }
}
