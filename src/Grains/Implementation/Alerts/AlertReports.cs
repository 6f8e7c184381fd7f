using Monitoring.Routing;

namespace Monitoring.Alerts;

/// <summary>
/// What one alert activation tells others about itself: the incidents the routing tree puts it in (when it starts
/// firing, is muted, or resolves, and again once a reminder period, since incidents store joins behind), and the
/// inhibitors (when it starts or stops being a firing source). The steady state, the same word in the same episode,
/// costs nothing. A failed report marks the alert's state so the word is said again with the hand-off retry.
/// </summary>
public sealed class AlertReports(IGrainFactory grains, RoutingCache routing, TimeSpan reassertEvery, TimeSpan retry, ILogger logger)
{
    private (MemberStatus?, int, bool)? _reported;
    private DateTimeOffset _reassertAt;

    public async Task ReportAsync(string alertId, AlertState s, Dictionary<string, string> labels, DateTimeOffset now)
    {
        var life = s.Life;
        MemberStatus? status = life.Phase switch
        {
            AlertPhase.Firing when life.SilencedUntil > now || life.SuppressedUntil > now => MemberStatus.Muted,
            AlertPhase.Firing => MemberStatus.Firing,
            AlertPhase.Resolved when s.ReportedStatus is not null and not MemberStatus.Resolved => MemberStatus.Resolved,
            _ => null,
        };
        // Incidents and the inhibitors keep part of what they know in memory: it is said again once a reminder period.
        var force = s.ReportDue || now >= _reassertAt;
        var inhibiting = life.Phase == AlertPhase.Firing;
        var reported = (status, life.Episode, inhibiting);
        if (!force && _reported == reported) return;
        try
        {
            var set = await routing.GetAsync();
            var (source, tellInhibitors) = Dispatch.ToInhibitors(grains, set, alertId, labels, inhibiting, s.Inhibiting, reassert: force);
            if (tellInhibitors is not null)
            {
                await tellInhibitors;
                s.Inhibiting = source;
            }
            if (s.Rule!.Routed && status is { } member)
            {
                await TellIncidentsAsync(alertId, s, labels, set, member, now);
            }
            s.ReportDue = false;
            _reported = reported;
            if (force) _reassertAt = now + reassertEvery;
        }
        catch (Exception e)
        {
            s.ReportDue = true;
            s.HandOffRetryAt = s.HandOffRetryAt is { } at && at < now + retry ? at : now + retry;
            logger.LogWarning(e, "Alert {AlertId}: its incidents or the inhibitors were not told; will try again", alertId);
        }
    }

    /// <summary>Tells each incident its routes lead to, and tells those it no longer leads to that it left them.</summary>
    private async Task TellIncidentsAsync(string alertId, AlertState s, Dictionary<string, string> labels, RoutingSet set, MemberStatus member, DateTimeOffset now)
    {
        var (life, rule, server) = (s.Life, s.Rule!, s.Server!);
        var word = new IncidentMember(alertId, life.Sequence, member, labels, rule.Id, rule.Name, server.Id, server.Name, rule.Severity,
            rule.Message, rule.Condition, life.FiredAt ?? now, member == MemberStatus.Resolved ? life.ResolvedAt ?? now : null, life.Values);
        var routes = Dispatch.RoutesOf(set, member, labels, s.Routes);
        var calls = new List<Task>(routes.Length + s.Routes.Length);
        Dispatch.ToIncidents(grains, routes, s.Routes, word, now, calls);
        await Task.WhenAll(calls);
        s.Routes = routes;
        s.ReportedStatus = member;
        s.ReportedEpisode = life.Episode;
    }
}
