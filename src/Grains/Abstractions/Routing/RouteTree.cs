using System.Security.Cryptography;
using System.Text;

namespace Monitoring.Routing;

/// <summary>
/// Alertmanager's routing over a <see cref="RoutingSet"/>: which routes take a label set, with inherited fields filled
/// in, and the incident each route puts it in.
/// </summary>
public static class RouteTree
{
    public static readonly TimeSpan DefaultGroupWait = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultGroupInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultRepeatInterval = TimeSpan.FromHours(4);

    /// <summary>The special group_by value that makes one group per alert.</summary>
    public const string EveryLabel = "...";

    /// <summary>The routes that take these labels, in tree order. The root takes what no child does.</summary>
    public static RouteMatch[] Match(Route root, IReadOnlyDictionary<string, string> labels)
    {
        var inherited = new Resolved(root.Receiver, root.GroupBy ?? [], root.GroupWait ?? DefaultGroupWait,
            root.GroupInterval ?? DefaultGroupInterval, root.RepeatInterval ?? DefaultRepeatInterval, root.MuteTimeIntervals, root.ActiveTimeIntervals);
        var found = new List<RouteMatch>();
        Walk(root, "root", "{}", inherited, labels, found, isRoot: true);
        return [.. found];
    }

    private sealed record Resolved(string? Receiver, string[] GroupBy, TimeSpan Wait, TimeSpan Interval, TimeSpan Repeat, string[] Mute, string[] Active);

    /// <summary>
    /// <paramref name="key"/> identifies the route by its matchers from the root, as Alertmanager's route key does, with
    /// each child's position, so two trees that route differently never share an incident.
    /// </summary>
    private static bool Walk(Route route, string path, string key, Resolved settings, IReadOnlyDictionary<string, string> labels, List<RouteMatch> found, bool isRoot)
    {
        if (!isRoot && !route.Matchers.All(m => m.Matches(labels))) return false;
        var before = found.Count;
        for (var i = 0; i < route.Routes.Length; i++)
        {
            var child = route.Routes[i];
            var inherited = new Resolved(child.Receiver ?? settings.Receiver, child.GroupBy ?? settings.GroupBy, child.GroupWait ?? settings.Wait,
                child.GroupInterval ?? settings.Interval, child.RepeatInterval ?? settings.Repeat, child.MuteTimeIntervals, child.ActiveTimeIntervals);
            var childKey = $"{key}/{i}{{{string.Join(",", child.Matchers.Select(m => m.ToString()))}}}";
            if (Walk(child, $"{path}/{i}", childKey, inherited, labels, found, isRoot: false) && !child.Continue) break;
        }
        if (found.Count == before)
        {
            var groupLabels = GroupLabels(settings.GroupBy, labels);
            found.Add(new RouteMatch(path, settings.Receiver, settings.GroupBy, settings.Wait, settings.Interval, settings.Repeat,
                settings.Mute, settings.Active, groupLabels, IncidentId(key, groupLabels)) { Key = key });
        }
        return true;
    }

    public static Dictionary<string, string> GroupLabels(string[] groupBy, IReadOnlyDictionary<string, string> labels)
    {
        if (groupBy.Contains(EveryLabel)) return labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
        var group = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in groupBy)
        {
            if (labels.TryGetValue(name, out var value) && value.Length > 0) group[name] = value;
        }
        return group;
    }

    /// <summary>Alertmanager's group key: the route's key and the group's labels, as text.</summary>
    public static string GroupKey(string routeKey, IReadOnlyDictionary<string, string> groupLabels) =>
        $"{routeKey}:{{{string.Join(", ", groupLabels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\""))}}}";

    public static string IncidentId(string routeKey, IReadOnlyDictionary<string, string> groupLabels) =>
        "inc-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(GroupKey(routeKey, groupLabels))))[..20];

    public static bool IsIncidentId(string id) => id.Length == 24 && id.StartsWith("inc-", StringComparison.Ordinal) && id[4..].All(Uri.IsHexDigit);

    /// <summary>"root/0/1" as a request's field path: "route.routes[0].routes[1]."</summary>
    public static string Field(string path) =>
        "route." + string.Concat(path.Split('/').Skip(1).Select(i => $"routes[{i}]."));

    /// <summary>Every route with its path, depth first.</summary>
    public static IEnumerable<(string Path, Route Route)> All(Route root)
    {
        var stack = new Stack<(string, Route)>();
        stack.Push(("root", root));
        while (stack.Count > 0)
        {
            var (path, route) = stack.Pop();
            yield return (path, route);
            for (var i = route.Routes.Length - 1; i >= 0; i--) stack.Push(($"{path}/{i}", route.Routes[i]));
        }
    }
}
