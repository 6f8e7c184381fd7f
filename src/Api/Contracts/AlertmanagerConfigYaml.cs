using Monitoring.Common;
using Monitoring.External;
using Monitoring.Routing;
using Monitoring.Silences;
using YamlDotNet.Serialization;

namespace Monitoring.Api.Contracts;

/// <summary>
/// The routing document as an Alertmanager configuration file (<c>config.original</c> of <c>/api/v2/status</c>), so
/// <c>amtool config routes</c> and <c>amtool check-config</c> read it. Receivers carry their names only: their channels
/// and escalation policies are this product's and have no Alertmanager equivalent (and hold secrets).
/// </summary>
public static class AlertmanagerConfigYaml
{
    private static readonly string[] Weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

    public static string From(RoutingSet set, TimeSpan resolveTimeout)
    {
        var receivers = set.Receivers.Select(r => r.Name).ToList();
        var needsNone = set.Root.Receiver is null || RouteTree.All(set.Root).Any(r => r.Route.Receiver is not null && !receivers.Contains(r.Route.Receiver));
        if (needsNone && !receivers.Contains(ExternalAlerts.NoReceiver)) receivers.Add(ExternalAlerts.NoReceiver);
        var document = new Dictionary<string, object>
        {
            ["global"] = new Dictionary<string, object> { ["resolve_timeout"] = Durations.Format(resolveTimeout) },
            ["route"] = Route(set.Root, isRoot: true, receivers),
            ["receivers"] = receivers.Select(name => new Dictionary<string, object> { ["name"] = name }).ToList(),
        };
        if (set.Inhibitions.Length > 0)
        {
            document["inhibit_rules"] = set.Inhibitions.Select(rule =>
            {
                var entry = new Dictionary<string, object>
                {
                    ["source_matchers"] = rule.SourceMatchers.Select(Text).ToList(),
                    ["target_matchers"] = rule.TargetMatchers.Select(Text).ToList(),
                };
                if (rule.Equal.Length > 0) entry["equal"] = rule.Equal.ToList();
                return entry;
            }).ToList();
        }
        if (set.TimeIntervals.Length > 0)
        {
            document["time_intervals"] = set.TimeIntervals.Select(interval => new Dictionary<string, object>
            {
                ["name"] = interval.Name,
                ["time_intervals"] = interval.Ranges.Select(range => Range(range, interval.Location)).ToList(),
            }).ToList();
        }
        return new SerializerBuilder().DisableAliases().Build().Serialize(document);
    }

    private static Dictionary<string, object> Route(Monitoring.Routing.Route route, bool isRoot, List<string> receivers)
    {
        var entry = new Dictionary<string, object>();
        if (isRoot) entry["receiver"] = route.Receiver ?? ExternalAlerts.NoReceiver;
        else if (route.Receiver is { } receiver) entry["receiver"] = receivers.Contains(receiver) ? receiver : ExternalAlerts.NoReceiver;
        if (route.GroupBy is { } groupBy) entry["group_by"] = groupBy.ToList();
        if (!isRoot && route.Matchers.Length > 0) entry["matchers"] = route.Matchers.Select(Text).ToList();
        if (route.Continue) entry["continue"] = true;
        if (route.GroupWait is { } wait) entry["group_wait"] = Durations.Format(wait);
        if (route.GroupInterval is { } interval && interval > TimeSpan.Zero) entry["group_interval"] = Durations.Format(interval);
        if (route.RepeatInterval is { } repeat && repeat > TimeSpan.Zero) entry["repeat_interval"] = Durations.Format(repeat);
        if (route.MuteTimeIntervals.Length > 0) entry["mute_time_intervals"] = route.MuteTimeIntervals.ToList();
        if (route.ActiveTimeIntervals.Length > 0) entry["active_time_intervals"] = route.ActiveTimeIntervals.ToList();
        if (route.Routes.Length > 0) entry["routes"] = route.Routes.Select(child => Route(child, isRoot: false, receivers)).ToList();
        return entry;
    }

    private static Dictionary<string, object> Range(TimeRangeSet range, string location)
    {
        var entry = new Dictionary<string, object>();
        if (range.Times.Length > 0)
        {
            entry["times"] = range.Times.Select(t => new Dictionary<string, object> { ["start_time"] = Clock(t.From), ["end_time"] = Clock(t.To) }).ToList();
        }
        if (range.Weekdays.Length > 0) entry["weekdays"] = range.Weekdays.Select(r => Span(Weekdays[r.From], Weekdays[r.To])).ToList();
        if (range.DaysOfMonth.Length > 0) entry["days_of_month"] = range.DaysOfMonth.Select(r => Span(r.From, r.To)).ToList();
        if (range.Months.Length > 0) entry["months"] = range.Months.Select(r => Span(r.From, r.To)).ToList();
        if (range.Years.Length > 0) entry["years"] = range.Years.Select(r => Span(r.From, r.To)).ToList();
        if (!string.IsNullOrEmpty(location) && location != "UTC") entry["location"] = location;
        return entry;
    }

    private static string Span<T>(T from, T to) where T : notnull => Equals(from, to) ? $"{from}" : $"{from}:{to}";

    private static string Clock(int minutes) => $"{minutes / 60:00}:{minutes % 60:00}";

    /// <summary>A matcher as Alertmanager's configuration writes it: the value double-quoted, \ and " escaped.</summary>
    private static string Text(Matcher m) => $"{m.Name}{Matcher.Symbol(m.Operator)}\"{m.Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";
}
