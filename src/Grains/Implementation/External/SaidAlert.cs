namespace Monitoring.External;

/// <summary>
/// An alert the product raises about itself (a schedule's gap, a heartbeat that stopped) through the Alertmanager-API
/// path, so the routing tree, silences, inhibition, incidents and escalation treat it like any other. Firing, it is said
/// again every <see cref="Reassert"/> with an end an hour ahead (Alertmanager's way: a source that stops saying it lets
/// it resolve); once it no longer holds it is said once more, as ended.
/// </summary>
public static class SaidAlert
{
    public static readonly TimeSpan Reassert = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// What to post now, if anything, given whether it holds and what was last posted (when it began firing, when it was
    /// last said). Answers the alert to post (null: nothing) and the new firing-since and said-at.
    /// </summary>
    public static (PostedAlert? Post, DateTimeOffset? FiringSince, DateTimeOffset? SaidAt) Decide(
        Dictionary<string, string> labels, Dictionary<string, string> annotations, bool holds, DateTimeOffset? firingSince, DateTimeOffset? saidAt, DateTimeOffset now)
    {
        var fingerprint = ExternalAlerts.Fingerprint(labels);
        if (!holds)
        {
            if (firingSince is null) return (null, null, saidAt);
            return (new PostedAlert(fingerprint, labels, annotations, firingSince.Value, now, false, null), null, now);
        }
        var since = firingSince ?? now;
        if (firingSince is not null && saidAt is { } said && now - said < Reassert) return (null, since, saidAt);
        return (new PostedAlert(fingerprint, labels, annotations, since, now + Lifetime, false, null), since, now);
    }
}
