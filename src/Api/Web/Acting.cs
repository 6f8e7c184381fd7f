using Monitoring.Alerts;
using Monitoring.Api.Audit;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Silences;

namespace Monitoring.Api.Web;

/// <summary>What a person may do to an incident or an alert from the console, Slack or an action link.</summary>
public enum TargetAction
{
    Acknowledge,
    Resolve,
    Silence,
}

/// <summary>
/// Acknowledges, resolves or silences an incident (<c>inc-…</c>) or one alert (<c>rule:server</c>) for whoever acts,
/// through the same grains as the API, and writes the audit log. Silencing an incident silences its group labels;
/// silencing one alert suppresses it.
/// </summary>
public sealed class Acting(IGrainFactory grains, TimeProvider time, IAuditLog audit, ILogger<Acting> logger)
{
    public static readonly TimeSpan[] SilenceChoices = [TimeSpan.FromHours(1), TimeSpan.FromHours(4), TimeSpan.FromHours(24)];

    public sealed record Outcome(bool Succeeded, string Message);

    public static bool IsTarget(string id) => RouteTree.IsIncidentId(id) || AlertIds.TryParse(id, out _, out _);

    /// <summary>Whether the target exists and is still open (not resolved): links and buttons on resolved ones stop working.</summary>
    public async Task<(bool Exists, bool Open, string Title)> LookAsync(string id)
    {
        if (RouteTree.IsIncidentId(id))
        {
            var incident = await grains.GetGrain<IIncidentGrain>(id).GetAsync();
            return incident is null ? (false, false, id) : (true, incident.Status != IncidentStatus.Resolved, TitleOf(incident));
        }
        if (AlertIds.TryParse(id, out _, out _) && await grains.GetGrain<IAlertGrain>(id).GetAsync() is { } alert)
        {
            return (true, alert.Status is AlertStatus.Firing or AlertStatus.Escalated or AlertStatus.Acknowledged or AlertStatus.Pending,
                $"{alert.RuleName} on {alert.ServerId}");
        }
        return (false, false, id);
    }

    public static string TitleOf(IncidentView incident) =>
        incident.GroupLabels.Count == 0 ? incident.Id : Show.Labels(incident.GroupLabels);

    public async Task<Outcome> ActAsync(string id, TargetAction action, string by, TimeSpan? silenceFor = null)
    {
        var now = time.GetUtcNow();
        if (RouteTree.IsIncidentId(id))
        {
            var incident = grains.GetGrain<IIncidentGrain>(id);
            if (await incident.GetAsync() is not { } before) return new(false, $"There is no incident {id}.");
            if (action == TargetAction.Silence) return await SilenceIncidentAsync(before, silenceFor ?? SilenceChoices[0], by, now);
            var result = action == TargetAction.Acknowledge
                ? await AlertCommands.AcknowledgeIncidentAsync(grains, id, by, logger)
                : await AlertCommands.ResolveIncidentAsync(grains, id, by, logger);
            if (!result.Succeeded) return new(false, Refusal(result));
            await audit.AppendAsync(now, by, $"{Verb(action)} incident", "incident", id, Summary(before), Summary((await incident.GetAsync())!));
            return new(true, $"{Past(action)} {TitleOf(before)} as {by}.");
        }
        if (AlertIds.TryParse(id, out _, out _))
        {
            var alert = grains.GetGrain<IAlertGrain>(id);
            if (await alert.GetAsync() is not { } before) return new(false, $"There is no alert {id}.");
            var result = action switch
            {
                TargetAction.Acknowledge => await AlertCommands.AcknowledgeAsync(grains, id, by),
                TargetAction.Resolve => await AlertCommands.ResolveAsync(grains, id, by),
                _ => await AlertCommands.SuppressAsync(grains, id, silenceFor ?? SilenceChoices[0], by),
            };
            if (!result.Succeeded) return new(false, Refusal(result));
            var after = await alert.GetAsync();
            await audit.AppendAsync(now, by, $"{Verb(action)} alert", "alert", id, new { before.Status, before.AcknowledgedBy }, new { after?.Status, after?.AcknowledgedBy });
            return new(true, $"{Past(action)} {before.RuleName} on {before.ServerId} as {by}.");
        }
        return new(false, $"'{id}' is neither an incident nor an alert.");
    }

    private async Task<Outcome> SilenceIncidentAsync(IncidentView incident, TimeSpan length, string by, DateTimeOffset now)
    {
        var labels = incident.GroupLabels.Count > 0 ? incident.GroupLabels : CommonLabels(incident.Alerts.Select(a => a.Labels));
        if (labels.Count == 0) return new(false, "This incident's alerts share no label to silence them by; create a silence with matchers instead.");
        var silence = new Silence(Guid.NewGuid().ToString("N"), [.. labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new Matcher(l.Key, MatchOperator.Equal, l.Value))],
            now, now + length, by, $"Silenced for {Show.Span(length)} from incident {incident.Id}", false, now);
        var result = await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).CreateAsync(silence);
        if (!result.Succeeded) return new(false, Refusal(result));
        await audit.AppendAsync(now, by, "silence incident", "silence", silence.Id, null, silence);
        return new(true, $"Silenced {Show.Labels(labels)} for {Show.Span(length)} as {by}.");
    }

    public static Dictionary<string, string> CommonLabels(IEnumerable<Dictionary<string, string>> sets)
    {
        Dictionary<string, string>? common = null;
        foreach (var set in sets)
        {
            common = common is null ? new Dictionary<string, string>(set) : common.Where(l => set.TryGetValue(l.Key, out var v) && v == l.Value).ToDictionary();
        }
        common?.Remove("alert_id");
        return common ?? [];
    }

    private static object Summary(IncidentView i) => new { i.Status, i.AcknowledgedBy, i.AcknowledgedAt, i.ResolvedAt };

    private static string Refusal(WriteResult result) => string.Join("; ", result.Errors.Select(e => e.Message)) is { Length: > 0 } text ? text : result.Outcome.ToString();

    private static string Verb(TargetAction action) => action switch
    {
        TargetAction.Acknowledge => "acknowledge",
        TargetAction.Resolve => "resolve",
        _ => "silence",
    };

    public static string Past(TargetAction action) => action switch
    {
        TargetAction.Acknowledge => "Acknowledged",
        TargetAction.Resolve => "Resolved",
        _ => "Silenced",
    };
}
