using Microsoft.Extensions.Logging;
using Monitoring.Common;
using Monitoring.External;
using Monitoring.Routing;
using Monitoring.Servers;

namespace Monitoring.Alerts;

/// <summary>
/// What a person does to an alert or an incident, whichever door they come through (REST, the console, Slack, email
/// links, <c>/mcp</c>), and the one read of an alert. The grains' calls go one way, evaluate → dispatch → group →
/// notify (a server tells its alerts, an alert tells its incidents, an incident tells its channels); a person's command
/// comes in from outside and fans out from here, after its target answered. So an incident does not acknowledge its
/// alerts and an alert does not tell its server: this does both, and no grain calls back up the pipeline
/// (<c>GrainCycleTests</c> holds that).
/// </summary>
public static class AlertCommands
{
    /// <summary>Values told this recently are shown as they are; older ones are asked of the alert's server.</summary>
    public static readonly TimeSpan ValuesFreshFor = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Acknowledges one alert (a rule's or an Alertmanager-API one) and, for a rule's alert, tells its server, which
    /// then tells the alert its condition again at its next evaluation (and the alert answers whether it may sleep).
    /// </summary>
    public static Task<WriteResult> AcknowledgeAsync(IGrainFactory grains, string alertId, string? by) =>
        ExternalAlerts.IsAlertId(alertId)
            ? ExternalAlerts.Partition(grains, ExternalAlerts.FingerprintOf(alertId)).AcknowledgeAsync(ExternalAlerts.FingerprintOf(alertId), by)
            : ThenTellServerAsync(grains, alertId, grains.GetGrain<IAlertGrain>(alertId).AcknowledgeAsync(by));

    /// <summary>
    /// Resolves one alert by hand. A rule's alert's server is told, so a condition that still holds opens a new
    /// episode at its next evaluation instead of being taken as unchanged.
    /// </summary>
    public static Task<WriteResult> ResolveAsync(IGrainFactory grains, string alertId, string? by) =>
        ExternalAlerts.IsAlertId(alertId)
            ? ExternalAlerts.Partition(grains, ExternalAlerts.FingerprintOf(alertId)).ResolveAsync(ExternalAlerts.FingerprintOf(alertId), by)
            : ThenTellServerAsync(grains, alertId, grains.GetGrain<IAlertGrain>(alertId).ResolveAsync(by));

    /// <summary>Suppresses a rule's alert for a while; its server is told, so the end of the suppression is not slept through.</summary>
    public static Task<WriteResult> SuppressAsync(IGrainFactory grains, string alertId, TimeSpan duration, string? by) =>
        ThenTellServerAsync(grains, alertId, grains.GetGrain<IAlertGrain>(alertId).SuppressAsync(duration, by));

    /// <summary>
    /// Acknowledges an incident, which stops its escalation, then each of its firing alerts (each keeps its own
    /// status). An alert that cannot be reached now is logged and keeps firing; the incident stays acknowledged.
    /// </summary>
    public static async Task<WriteResult> AcknowledgeIncidentAsync(IGrainFactory grains, string incidentId, string? by, ILogger logger)
    {
        var incident = grains.GetGrain<IIncidentGrain>(incidentId);
        var result = await incident.AcknowledgeAsync(by);
        if (!result.Succeeded || await incident.GetAsync() is not { } view) return result;
        await EachAsync(view.Alerts.Where(m => m.Status == MemberStatus.Firing), id => AcknowledgeAsync(grains, id, by), "acknowledge", incidentId, logger);
        return result;
    }

    /// <summary>Resolves an incident (its receiver is told at once), then each of its alerts that was still open.</summary>
    public static async Task<WriteResult> ResolveIncidentAsync(IGrainFactory grains, string incidentId, string? by, ILogger logger)
    {
        var incident = grains.GetGrain<IIncidentGrain>(incidentId);
        var open = (await incident.GetAsync())?.Alerts.Where(m => m.Status != MemberStatus.Resolved).ToArray() ?? [];
        var result = await incident.ResolveAsync(by);
        if (result.Succeeded) await EachAsync(open, id => ResolveAsync(grains, id, by), "resolve", incidentId, logger);
        return result;
    }

    /// <summary>
    /// An alert as it stands, with its server's latest values when the alert has not been told them for a while (a
    /// quiet alert sleeps, and keeps the values it was last told). Null when there is no such alert.
    /// </summary>
    public static async Task<AlertView?> ViewAsync(IGrainFactory grains, string alertId, TimeProvider time)
    {
        if (await grains.GetGrain<IAlertGrain>(alertId).GetAsync() is not { } view) return null;
        if (view.Status is AlertStatus.Resolved or AlertStatus.Inactive || view.ValuesAt is { } at && at > time.GetUtcNow() - ValuesFreshFor) return view;
        try
        {
            return await grains.GetGrain<IMcpServerGrain>(view.ServerId).GetStatusAsync() is { Metrics.Count: > 0 } status ? view with { Values = status.Metrics } : view;
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return view; // the last told values, which the view's time says how old they are
        }
    }

    private static async Task<WriteResult> ThenTellServerAsync(IGrainFactory grains, string alertId, Task<WriteResult> acting)
    {
        var result = await acting;
        if (result.Succeeded && AlertIds.TryParse(alertId, out var ruleId, out var serverId))
        {
            try
            {
                await grains.GetGrain<IMcpServerGrain>(serverId).AlertChangedAsync(ruleId);
            }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                // The action stands; the server tells the alert its condition again within a reminder period anyway.
            }
        }
        return result;
    }

    private static async Task EachAsync(IEnumerable<IncidentMember> members, Func<string, Task<WriteResult>> act, string verb, string incidentId, ILogger logger)
    {
        await Task.WhenAll(members.Select(async member =>
        {
            try
            {
                await act(member.AlertId);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Incident {IncidentId}: could not {Verb} its alert {AlertId}; it keeps its own status", incidentId, verb, member.AlertId);
            }
        }));
    }
}
