using Monitoring.External;

namespace Monitoring.OnCall;

/// <summary>
/// The alert a schedule raises when it has nobody on call in the next 7 days: an ordinary alert (alertname
/// <c>OnCallScheduleGap</c>, labels <c>schedule</c> and <c>severity=warning</c>) through the Alertmanager-API path, so
/// the routing tree, silences, inhibition, incidents and escalation treat it like any other. Firing, it is said again
/// every <see cref="Reassert"/> with an end an hour ahead (Alertmanager's way: a source that stops saying it lets it
/// resolve); once the gaps are gone it is said once more as ended.
/// </summary>
public static class GapWatch
{
    public const string AlertName = "OnCallScheduleGap";
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(7);
    public static readonly TimeSpan Reassert = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    public static Dictionary<string, string> Labels(string scheduleId) => new(StringComparer.Ordinal)
    {
        ["alertname"] = AlertName,
        ["schedule"] = scheduleId,
        ["severity"] = "warning",
    };

    /// <summary>
    /// What to post now, if anything, given the gaps ahead and what was last posted (when it began firing, when it was
    /// last said). Answers the alert to post (null: nothing) and the new firing-since and said-at.
    /// </summary>
    public static (PostedAlert? Post, DateTimeOffset? FiringSince, DateTimeOffset? SaidAt) Decide(
        string scheduleId, string name, IReadOnlyList<Shift> gaps, DateTimeOffset? firingSince, DateTimeOffset? saidAt, DateTimeOffset now)
    {
        var labels = Labels(scheduleId);
        var fingerprint = ExternalAlerts.Fingerprint(labels);
        if (gaps.Count == 0)
        {
            if (firingSince is null) return (null, null, saidAt);
            return (new PostedAlert(fingerprint, labels, Annotations(name, gaps), firingSince.Value, now, false, null), null, now);
        }
        var since = firingSince ?? now;
        if (firingSince is not null && saidAt is { } said && now - said < Reassert) return (null, since, saidAt);
        return (new PostedAlert(fingerprint, labels, Annotations(name, gaps), since, now + Lifetime, false, null), since, now);
    }

    private static Dictionary<string, string> Annotations(string name, IReadOnlyList<Shift> gaps)
    {
        if (gaps.Count == 0) return new() { ["summary"] = $"Schedule {name} has someone on call for the next 7 days" };
        var total = TimeSpan.FromTicks(gaps.Sum(g => (g.End - g.Start).Ticks));
        return new()
        {
            ["summary"] = $"Schedule {name} has nobody on call for {Common.Durations.Format(total)} in the next 7 days, first from {gaps[0].Start:u} to {gaps[0].End:u}",
            ["gaps"] = string.Join("; ", gaps.Take(10).Select(g => $"{g.Start:u} to {g.End:u}")),
        };
    }
}
