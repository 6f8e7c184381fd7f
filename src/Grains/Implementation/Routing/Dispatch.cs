namespace Monitoring.Routing;

/// <summary>
/// The one dispatch of an alert that the routing tree groups, the product's own (a rule that names no channels) and the
/// Alertmanager API's alike: the routes with a receiver that its labels match, each incident told the alert as a
/// member, the incidents it no longer leads to told that it left them, and the inhibitors told whether it is a source.
/// The caller keeps what it told before, and makes the calls one alert at a time or a batch at a time.
/// </summary>
public static class Dispatch
{
    /// <summary>
    /// The routes an alert leads to now: those with a receiver (a route without one keeps no incident, so an empty
    /// tree costs nothing). A resolved alert stays with the incidents it was in, to end there.
    /// </summary>
    public static RouteMatch[] RoutesOf(RoutingSet set, MemberStatus status, Dictionary<string, string> labels, RouteMatch[] before) =>
        status == MemberStatus.Resolved ? before : [.. RouteTree.Match(set.Root, labels).Where(r => r.Receiver is not null)];

    /// <summary>Tells each incident of <paramref name="routes"/> the member, and each of <paramref name="before"/> it no longer leads to that it left.</summary>
    public static void ToIncidents(IGrainFactory grains, RouteMatch[] routes, RouteMatch[] before, IncidentMember member, DateTimeOffset now, List<Task> calls)
    {
        foreach (var route in routes) calls.Add(grains.GetGrain<IIncidentGrain>(route.IncidentId).UpdateAsync(route, member));
        foreach (var old in before.Where(old => routes.All(r => r.IncidentId != old.IncidentId)))
        {
            calls.Add(grains.GetGrain<IIncidentGrain>(old.IncidentId).UpdateAsync(old, member with { Status = MemberStatus.Resolved, EndsAt = now }));
        }
    }

    /// <summary>
    /// Whether the alert is now a source for the inhibitors (it fires, and matches some rule's source side), and the call
    /// that tells them, when it changed or <paramref name="reassert"/> asks to say it again (they keep sources in memory
    /// and store them behind).
    /// </summary>
    public static (bool Source, Task? Call) ToInhibitors(IGrainFactory grains, RoutingSet set, string alertId, Dictionary<string, string> labels,
        bool firing, bool wasSource, bool reassert = false)
    {
        var source = firing && Muting.Mutes.MayInhibit(set, labels);
        return source != wasSource || reassert && source
            ? (source, grains.GetGrain<IInhibitorsGrain>(IInhibitorsGrain.Key).SetAsync(alertId, source ? labels : null))
            : (source, null);
    }
}
