using Monitoring.Alerts;
using Monitoring.Routing;
using Monitoring.Silences;

namespace Monitoring.Muting;

/// <summary>
/// What holds an alert's messages back, decided here and nowhere else, for the product's own alerts, the Alertmanager
/// API's alerts and incidents alike:
/// <list type="bullet">
/// <item>a <b>silence</b> whose matchers match the alert's labels (the silences a silo holds, <see cref="SilenceCache"/>);</item>
/// <item>an <b>inhibition</b>: a firing alert matches a rule's source side, this one its target side, and they agree on the rule's equal labels;</item>
/// <item>a <b>time interval</b> of the alert's route: a mute interval in force, or every active interval out of force.</item>
/// </list>
/// The callers decide what muting does to them (an alert's lifecycle withholds its page; an incident leaves muted
/// members out of its messages); which mute applies is only decided here.
/// </summary>
public sealed class Mutes(SilenceCache silences, RoutingCache routing)
{
    /// <summary>The silences as this silo holds them, for a caller that decides many alerts at once (<see cref="SilencedBy"/>).</summary>
    public Task<SilenceSet> SilencesAsync() => silences.GetAsync();

    /// <summary>The ids of the active silences matching these labels, latest-ending first.</summary>
    public static string[] SilencedBy(SilenceSet set, IReadOnlyDictionary<string, string> labels, DateTimeOffset now) =>
        [.. set.Matching(labels, now).Select(s => s.Id)];

    /// <summary>
    /// The silence holding an alert with these labels now, as its lifecycle keeps it: the latest-ending match, which
    /// lets the resolved message through when any matching silence asks for it; null when none matches.
    /// </summary>
    public async Task<ActiveSilence?> SilenceOfAsync(IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        var matching = (await silences.GetAsync()).Matching(labels, now);
        return matching.FirstOrDefault() is { } first ? new ActiveSilence(first.Id, first.EndsAt, matching.Any(s => s.SendResolved)) : null;
    }

    /// <summary>The firing alert that inhibits one with these labels now, or null.</summary>
    public Task<string?> InhibitedByAsync(string alertId, IReadOnlyDictionary<string, string> labels) => routing.InhibitedByAsync(alertId, labels);

    /// <summary>The firing members an inhibition rule mutes now (an incident lists them, and tells nobody of them).</summary>
    public async Task<string[]> InhibitedAmongAsync(IEnumerable<IncidentMember> members)
    {
        var inhibited = new List<string>();
        foreach (var member in members)
        {
            if (member.Status == MemberStatus.Firing && await InhibitedByAsync(member.AlertId, member.Labels) is not null) inhibited.Add(member.AlertId);
        }
        return [.. inhibited];
    }

    /// <summary>Whether an alert with these labels, while it fires, may inhibit others: the inhibitors must then know of it.</summary>
    public static bool MayInhibit(RoutingSet set, IReadOnlyDictionary<string, string> labels) =>
        set.Inhibitions.Any(rule => rule.SourceMatchers.All(m => m.Matches(labels)));

    /// <summary>The time interval that holds a route's messages now (a mute interval in force, or every active interval out of force), or null.</summary>
    public static string? TimeIntervalOf(RoutingSet set, RouteMatch route, DateTimeOffset now)
    {
        foreach (var name in route.MuteTimeIntervals)
        {
            if (set.TimeIntervals.FirstOrDefault(t => t.Name == name) is { } interval && TimeIntervals.Contains(interval, now)) return name;
        }
        if (route.ActiveTimeIntervals.Length > 0)
        {
            var active = route.ActiveTimeIntervals.Select(n => set.TimeIntervals.FirstOrDefault(t => t.Name == n)).OfType<TimeInterval>().ToArray();
            if (active.Length > 0 && !active.Any(interval => TimeIntervals.Contains(interval, now))) return $"{string.Join(", ", route.ActiveTimeIntervals)} (outside)";
        }
        return null;
    }
}
