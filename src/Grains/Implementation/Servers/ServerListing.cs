using Monitoring.Listings;
using Monitoring.Probing;
using Monitoring.Rules.Conditions;

namespace Monitoring.Servers;

/// <summary>
/// Keeps a server's listing entry current: written at once when the verdict, <c>up</c> or the open alerts change, and
/// with fresh metrics and reasons at most once a minute otherwise, so a fleet of 10,000 is not a write per evaluation.
/// A write that fails is tried again with the next evaluation.
/// </summary>
internal sealed class ServerListing(IListingStore listings, string serverId, ILogger logger)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private ServerEntry? _listed;

    public async Task ListAsync(McpServer server, int openAlerts, Dictionary<string, double> metrics, HealthVerdict verdict, DateTimeOffset now, bool force)
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
        try
        {
            await listings.UpsertAsync(entry);
            _listed = entry;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Server {ServerId}: its listing entry could not be written; trying again with the next evaluation", serverId);
        }
    }
}
