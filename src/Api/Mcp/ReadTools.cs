using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using Monitoring.Alerts;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Servers;
using Monitoring.Silences;

namespace Monitoring.Api.Mcp;

/// <summary>
/// What an agent may ask with a reader's key. Answers are summaries with ids to drill into, lists are bounded, and a
/// bad argument is a tool error (<see cref="McpException"/>) that says what to fix.
/// </summary>
[McpServerToolType]
public sealed class ReadTools(IGrainFactory grains, IListingStore listings, IAlertHistory history, TimeProvider time)
{
    public const int MaxList = 50;

    /// <summary>What an alert listing calls open: neither resolved nor a pending that cleared.</summary>
    private static readonly Matcher OpenAlert = new("status", MatchOperator.NotRegex, "resolved|inactive");

    [McpServerTool(Name = "fleet_status", Title = "Fleet status", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Start here. Servers counted by health, open alerts by status, open incidents, and the worst servers with their reasons.")]
    public async Task<FleetStatus> FleetStatusAsync([Description("How many of the worst servers to list (1-50).")] int worst = 10)
    {
        Limit(worst, "worst");
        var servers = await listings.CountByAsync<ServerEntry>("health");
        var alerts = await listings.CountByAsync<AlertEntry>("status");
        var open = alerts.Where(a => a.Key is not ("resolved" or "inactive")).ToDictionary(a => a.Key, a => a.Value);
        var incidents = await grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync();
        var (items, _) = await listings.QueryAsync<ServerEntry>(new ListingQuery(worst, 0)
        {
            WorstFirst = ServerEntry.WorstFirst,
            Exclude = new() { ["health"] = "healthy" },
        });
        var byHealth = Enum.GetNames<HealthState>().Select(h => h.ToLowerInvariant()).ToDictionary(h => h, h => servers.GetValueOrDefault(h));
        return new FleetStatus(servers.Values.Sum(), byHealth, open, incidents.Count(i => i.Status != IncidentStatus.Resolved),
            [.. items.Select(ServerLine.Of)]);
    }

    [McpServerTool(Name = "find_servers", Title = "Find servers", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Servers by label matchers, health and text in id or name, worst first.")]
    public async Task<Found<ServerLine>> FindServersAsync(
        [Description("Label matchers, e.g. [\"team=payments\", \"env=~prod|staging\"].")] string[]? labels = null,
        [Description("healthy, degraded, unhealthy or unknown.")] string? health = null,
        [Description("Text in the server's id or name.")] string? text = null,
        [Description("At most this many (1-50).")] int limit = 20,
        [Description("Skip this many.")] int offset = 0)
    {
        Limit(limit, "limit");
        var errors = new RequestErrors();
        var query = ServerQuery.From(health, labels, text, "health", null, limit, offset, errors);
        if (query is null) throw Invalid(errors);
        var (items, total) = await listings.QueryAsync<ServerEntry>(query);
        return new Found<ServerLine>(total, [.. items.Select(ServerLine.Of)]);
    }

    [McpServerTool(Name = "server_details", Title = "Server details", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("One server now: health and reasons, metrics, last probe, tools, open alerts and its last transitions.")]
    public async Task<ServerDetails> ServerDetailsAsync([Description("The server's id.")] string server_id)
    {
        var status = await grains.GetGrain<IMcpServerGrain>(Id(server_id, "server_id")).GetStatusAsync()
            ?? throw new McpException($"There is no server '{server_id}'. find_servers lists them.");
        var (rows, _) = await history.QueryAsync(new HistoryQuery(server_id, null, null, null, null, null, 10, 0));
        return ServerDetails.Of(status, rows);
    }

    [McpServerTool(Name = "list_alerts", Title = "List alerts", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Open alerts (firing, escalated, pending, acknowledged, silenced, suppressed), worst first; or one status.")]
    public async Task<Found<AlertLine>> ListAlertsAsync(
        [Description("Only this status: firing, escalated, pending, acknowledged, silenced, suppressed or resolved.")] string? status = null,
        [Description("Only this severity: info, warning, critical or emergency.")] string? severity = null,
        [Description("Only this server's alerts.")] string? server_id = null,
        [Description("At most this many (1-50).")] int limit = 20)
    {
        Limit(limit, "limit");
        var filter = new Dictionary<string, string>();
        if (status is not null) filter["status"] = Named<AlertStatus>(status, "status").ToString().ToLowerInvariant();
        if (severity is not null) filter["severity"] = Named<Common.Severity>(severity, "severity").ToString().ToLowerInvariant();
        if (server_id is not null) filter["serverId"] = Id(server_id, "server_id");
        var (items, total) = await listings.QueryAsync<AlertEntry>(new ListingQuery(limit, 0)
        {
            Filter = filter,
            Matchers = status is null ? [OpenAlert] : [],
            WorstFirst = AlertEntry.WorstFirst,
        });
        var now = time.GetUtcNow();
        return new Found<AlertLine>(total, [.. items.Select(a => new AlertLine(a.AlertId, a.Status.ToString().ToLowerInvariant(),
            a.Severity.ToString().ToLowerInvariant(), a.RuleName, a.ServerId, a.Message, Since(a.FiredAt, now)))]);
    }

    [McpServerTool(Name = "list_incidents", Title = "List incidents", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Incidents (alerts grouped by the routing tree), open ones first, newest first.")]
    public async Task<Found<IncidentLine>> ListIncidentsAsync(
        [Description("open, acknowledged or resolved; default: open and acknowledged.")] string? status = null,
        [Description("At most this many (1-50).")] int limit = 20)
    {
        Limit(limit, "limit");
        IncidentStatus? wanted = status is null ? null : Named<IncidentStatus>(status, "status");
        var all = await grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync();
        var selected = all.Where(i => wanted is { } w ? i.Status == w : i.Status != IncidentStatus.Resolved)
            .OrderBy(i => i.Status == IncidentStatus.Resolved).ThenByDescending(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        var now = time.GetUtcNow();
        return new Found<IncidentLine>(selected.Count, [.. selected.Take(limit).Select(i => new IncidentLine(i.Id, i.Status.ToString().ToLowerInvariant(),
            Web.Show.Labels(i.GroupLabels), i.Receiver, i.Firing, i.Total, Since(i.OpenedAt, now)))]);
    }

    [McpServerTool(Name = "who_is_on_call", Title = "Who is on call", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Who is on call now (or at a time) in each schedule, until when, and who is next.")]
    public async Task<Found<OnCallLine>> WhoIsOnCallAsync(
        [Description("One schedule's id; default: every schedule.")] string? schedule = null,
        [Description("An RFC 3339 time; default: now.")] string? at = null)
    {
        var when = time.GetUtcNow();
        if (at is not null && !DateTimeOffset.TryParse(at, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out when))
        {
            throw new McpException($"'at' must be an RFC 3339 time such as 2026-03-30T09:00:00Z; it is '{Clip(at)}'.");
        }
        Monitoring.OnCall.OnCallAnswer[] answers;
        if (schedule is not null)
        {
            if (!Monitoring.Common.Ids.IsValid(schedule) || await grains.GetGrain<Monitoring.OnCall.IScheduleGrain>(schedule).OnCallAsync(when) is not { } one)
            {
                throw new McpException($"There is no schedule '{Clip(schedule)}'. Leave 'schedule' out to list every schedule.");
            }
            answers = [one];
        }
        else
        {
            answers = await Endpoints.OnCallEndpoints.EveryoneAsync(listings, grains, when);
        }
        var now = time.GetUtcNow();
        var lines = answers.Select(o => new OnCallLine(
            o.Schedule, o.Users.Length > 0 ? o.Users : ["nobody"], o.Source, o.Until is { } until ? Web.Show.Ago(until, now) : null,
            o.Next is { } next ? (next.Users.Length > 0 ? next.Users : ["nobody"]) : null)).ToArray();
        return new Found<OnCallLine>(lines.Length, [.. lines.Take(MaxList)]);
    }

    [McpServerTool(Name = "incident_details", Title = "Incident details", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("One incident: its alerts, its timeline, escalation, and the messages sent for it.")]
    public async Task<IncidentDetails> IncidentDetailsAsync([Description("The incident's id (inc-…).")] string incident_id)
    {
        if (!RouteTree.IsIncidentId(incident_id) || await grains.GetGrain<IIncidentGrain>(incident_id).GetAsync() is not { } incident)
        {
            throw new McpException($"There is no incident '{Clip(incident_id)}'. list_incidents lists them.");
        }
        return IncidentDetails.Of(incident, time.GetUtcNow());
    }

    [McpServerTool(Name = "explain_alert", Title = "Explain an alert", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Why an alert is in its state: its rule and condition, the values, since when, what silences or inhibits it, and what was sent to whom.")]
    public async Task<AlertExplanation> ExplainAlertAsync([Description("The alert's id, rule:server.")] string alert_id)
    {
        if (!AlertIds.TryParse(alert_id, out var ruleId, out _) || await AlertCommands.ViewAsync(grains, alert_id, time) is not { } alert)
        {
            throw new McpException($"There is no alert '{Clip(alert_id)}'. list_alerts lists them; an alert's id is rule:server.");
        }
        var rule = await grains.GetGrain<IAlertRuleGrain>(ruleId).GetAsync();
        var sent = await grains.GetGrain<IAlertGrain>(alert_id).GetNotificationsAsync();
        SilenceLine? silence = null;
        if (alert.SilencedBy is { } silenceId
            && (await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(-1))?.Silences.FirstOrDefault(s => s.Id == silenceId) is { } s)
        {
            silence = new SilenceLine(s.Id, string.Join(", ", s.Matchers.Select(m => m.ToString())), s.CreatedBy, s.Comment, s.EndsAt);
        }
        return AlertExplanation.Of(alert, rule, silence, sent, time.GetUtcNow());
    }

    internal static void Limit(int value, string name)
    {
        if (value is < 1 or > MaxList) throw new McpException($"'{name}' is {value}; give 1 to {MaxList}.");
    }

    internal static string Id(string id, string name) =>
        Common.Ids.IsValid(id) ? id : throw new McpException($"'{name}' is not an id: letters, digits, '.', '_' and '-', up to {Common.Ids.MaxLength} characters.");

    internal static T Named<T>(string value, string name) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)
            ? parsed
            : throw new McpException($"'{name}' is '{Clip(value)}'; expected one of: {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");

    internal static McpException Invalid(RequestErrors errors) =>
        new(string.Join("; ", errors.ToArray().Select(e => $"{e.Field}: {e.Message}")));

    internal static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";

    internal static string? Since(DateTimeOffset? at, DateTimeOffset now) => at is { } t ? Web.Show.Ago(t, now) : null;
}
