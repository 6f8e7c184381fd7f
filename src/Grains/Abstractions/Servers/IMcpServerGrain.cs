using Monitoring.Common;
using Monitoring.Rules;

namespace Monitoring.Servers;

/// <summary>One monitored MCP server: registration, probes, scrapes, telemetry, and the evaluation of the rules that select it.</summary>
[Alias("mcp.IMcpServerGrain")]
public interface IMcpServerGrain : IGrainWithStringKey
{
    Task<WriteResult> RegisterAsync(McpServer server);

    /// <summary>
    /// Replaces the registration. Probe headers are write-only secrets: with <paramref name="keepProbeHeaders"/> the
    /// stored ones stay, so a client that never saw them can still edit the rest.
    /// </summary>
    Task<WriteResult> UpdateAsync(McpServer server, bool keepProbeHeaders = false);

    Task<bool> DeleteAsync();

    /// <summary>Removed by its discovery source (its resource is gone): deleted, its open alerts resolved with <paramref name="reason"/>.</summary>
    Task<bool> DeregisterAsync(string reason);

    Task<McpServer?> GetAsync();

    /// <summary>
    /// Interleaves: a sleeping alert asks its server for the latest values while the server may be waiting on that
    /// alert (it answers from memory, in one turn).
    /// </summary>
    [AlwaysInterleave]
    Task<ServerStatus?> GetStatusAsync();

    Task<IngestResult> IngestAsync(TelemetryBatch batch);

    /// <summary>An objective's question to the server's long-range history: totals per window (null when not registered).</summary>
    [AlwaysInterleave]
    Task<HistoryAnswer?> GetHistoryAsync(TotalsQuery query);

    /// <summary>The seed's performance summary over the last <paramref name="window"/> (null when not registered).</summary>
    [AlwaysInterleave]
    Task<ServerHistorySummary?> GetSummaryAsync(TimeSpan window);

    /// <summary>Adds a per-server ingest token (its SHA-256 hash; the token is shown once). At most 5 per server.</summary>
    Task<WriteResult> AddIngestTokenAsync(string id, string hash);

    Task<WriteResult> RevokeIngestTokenAsync(string id);

    /// <summary>Whether this hash is one of this server's ingest tokens.</summary>
    [AlwaysInterleave]
    Task<bool> AcceptsIngestTokenAsync(string hash);

    /// <summary>Re-evaluates every rule that selects this server now. The periodic timer calls it too.</summary>
    Task EvaluateAsync();

    /// <summary>A best-effort nudge from this silo's rule watcher: a newer rule set exists; apply it now rather than at the next evaluation.</summary>
    [OneWay]
    Task RulesChangedAsync();

    /// <summary>Its shard's periodic call, which activates the server if its silo died; answers whether it is registered.</summary>
    [AlwaysInterleave]
    Task<bool> KeepAliveAsync();

    /// <summary>
    /// A person acted on one of this server's alerts (acknowledged, resolved or suppressed it; <see cref="Alerts.AlertCommands"/>
    /// says so): the next evaluation tells it the condition again rather than taking it as unchanged. Answered once the
    /// server has taken it, so an evaluation that follows the person's action is that next one.
    /// </summary>
    Task AlertChangedAsync(string ruleId);

    /// <summary>
    /// Kept for the alerts of an older silo during a rolling upgrade (this version's alerts sleep only in their answer
    /// to an observation). One of this server's open alerts went to sleep on its own: the server
    /// tells it again at <paramref name="until"/>, or sooner when something changes. A server that did not count it
    /// open (its activation read a record older than the one its previous activation wrote) counts it from now on.
    /// </summary>
    [OneWay]
    Task AlertSleepsAsync(string ruleId, DateTimeOffset until);

    /// <summary>
    /// Runs the active checks now (or joins the round in flight) and answers with the status that follows.
    /// Interleaves: waiting on a slow server never blocks the grain's other calls.
    /// </summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:05:00")] // waits on the server's own probe, scrape and health timeouts (up to 2 minutes each)
    Task<ServerStatus?> CheckNowAsync();

    /// <summary>The silences changed: a server with open alerts evaluates now, so they take the change at once.</summary>
    Task SilencesChangedAsync();

    /// <summary>Where a round of active checks reports back. The checks run off the grain's turn; this applies what they found.</summary>
    Task ApplyChecksAsync(ActiveCheckResult result);
}

/// <summary>Checks servers' addresses against the outbound policy before a bulk apply writes any of them.</summary>
[Alias("mcp.IServerAddressCheckGrain")]
public interface IServerAddressCheckGrain : IGrainWithIntegerKey
{
    /// <summary>Every address the outbound policy can never reach, as "servers[i].field".</summary>
    Task<Common.FieldError[]> CheckAsync(McpServer[] servers);
}
