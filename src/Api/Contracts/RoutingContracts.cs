using System.Text.Json;
using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Silences;
using Route = Monitoring.Routing.Route;

namespace Monitoring.Api.Contracts;

/// <summary>
/// Reads routing documents (the tree with its receivers, time intervals, inhibition rules) from JSON, field by field:
/// every error names its path (route.routes[0].groupWait), unknown fields are refused, nothing is half-read.
/// </summary>
public static partial class RoutingReader
{
    public const int MaxRoutes = 1000;
    public const int MaxDepth = 16;
    public const int MaxReceivers = 500;
    public const int MaxNames = 64;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex LabelName();

    public static bool IsLabelName(string name) => LabelName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Name();

    public static (Route Root, Receiver[] Receivers)? ReadTree(JsonElement body, RequestErrors errors)
    {
        if (!Object(body, "", ["route", "receivers"], errors)) return null;
        var receivers = new List<Receiver>();
        if (body.TryGetProperty("receivers", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > MaxReceivers) errors.Add("receivers", $"must be an array of at most {MaxReceivers} receivers");
            else
            {
                var i = 0;
                foreach (var item in list.EnumerateArray())
                {
                    if (ReadReceiver(item, $"receivers[{i++}]", errors) is { } receiver)
                    {
                        if (receivers.Any(r => r.Name == receiver.Name)) errors.Add($"receivers[{i - 1}].name", $"'{receiver.Name}' is defined twice");
                        receivers.Add(receiver);
                    }
                }
            }
        }
        if (!body.TryGetProperty("route", out var routeElement))
        {
            errors.Add("route", "is required: the root route, e.g. {\"receiver\":\"ops\",\"groupBy\":[\"alertname\"]}");
            return null;
        }
        var count = 0;
        var root = ReadRoute(routeElement, "route", 0, ref count, errors);
        if (root is null || errors.Any) return null;
        if (root.Matchers.Length > 0) errors.Add("route.matchers", "the root route takes every alert; it has no matchers");
        if (root.Continue) errors.Add("route.continue", "the root route cannot continue");
        if (root.MuteTimeIntervals.Length > 0 || root.ActiveTimeIntervals.Length > 0) errors.Add("route", "the root route cannot have time intervals (as in Alertmanager); put them on a child route");
        var names = receivers.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, route) in RouteTree.All(root))
        {
            if (route.Receiver is { } name && !names.Contains(name))
            {
                errors.Add(RouteTree.Field(path) + "receiver", $"'{name}' is not a receiver; define it under \"receivers\"");
            }
        }
        return errors.Any ? null : (root, [.. receivers]);
    }

    private static Route? ReadRoute(JsonElement element, string field, int depth, ref int count, RequestErrors errors)
    {
        if (!Object(element, field, ["receiver", "matchers", "continue", "groupBy", "groupWait", "groupInterval", "repeatInterval", "muteTimeIntervals", "activeTimeIntervals", "routes"], errors)) return null;
        if (++count > MaxRoutes)
        {
            errors.Add(field, $"the tree has more than {MaxRoutes} routes");
            return null;
        }
        if (depth > MaxDepth)
        {
            errors.Add(field, $"the tree is deeper than {MaxDepth} levels");
            return null;
        }
        var route = new Route
        {
            Receiver = String(element, "receiver", field, errors, Name(), "a receiver name"),
            Continue = Bool(element, "continue", field, errors),
            GroupBy = element.TryGetProperty("groupBy", out _) ? Names(element, "groupBy", field, errors, label: true) : null,
            GroupWait = Duration(element, "groupWait", field, errors),
            GroupInterval = Duration(element, "groupInterval", field, errors, positive: true),
            RepeatInterval = Duration(element, "repeatInterval", field, errors, positive: true),
            MuteTimeIntervals = Names(element, "muteTimeIntervals", field, errors, label: false),
            ActiveTimeIntervals = Names(element, "activeTimeIntervals", field, errors, label: false),
            Matchers = Matchers(element, "matchers", field, errors),
        };
        if (element.TryGetProperty("routes", out var children))
        {
            if (children.ValueKind != JsonValueKind.Array) errors.Add($"{field}.routes", "must be an array of routes");
            else
            {
                var list = new List<Route>();
                var i = 0;
                foreach (var child in children.EnumerateArray())
                {
                    if (ReadRoute(child, $"{field}.routes[{i++}]", depth + 1, ref count, errors) is { } read) list.Add(read);
                    if (count > MaxRoutes) break;
                }
                route = route with { Routes = [.. list] };
            }
        }
        return route;
    }

    private static Receiver? ReadReceiver(JsonElement element, string field, RequestErrors errors)
    {
        if (!Object(element, field, ["name", "channels", "escalationPolicy", "sendResolved", "maxAlerts"], errors)) return null;
        var name = String(element, "name", field, errors, Name(), "a name (letters, digits, '.', '_', '-')");
        if (name is null && !element.TryGetProperty("name", out _)) errors.Add($"{field}.name", "is required");
        var channels = Names(element, "channels", field, errors, label: false);
        var policy = String(element, "escalationPolicy", field, errors, Name(), "an escalation policy id");
        var max = Receiver.DefaultMaxAlerts;
        if (element.TryGetProperty("maxAlerts", out var m))
        {
            if (m.ValueKind != JsonValueKind.Number || !m.TryGetInt32(out max) || max < 0 || max > 10_000) errors.Add($"{field}.maxAlerts", "must be a whole number from 0 (no limit) to 10000");
        }
        return name is null ? null : new Receiver(name, channels, policy) { SendResolved = !element.TryGetProperty("sendResolved", out _) || Bool(element, "sendResolved", field, errors), MaxAlerts = max };
    }

    public static TimeInterval? ReadTimeInterval(JsonElement element, string? name, RequestErrors errors)
    {
        if (!Object(element, "", ["name", "timeIntervals", "location"], errors)) return null;
        var given = String(element, "name", "", errors, Name(), "a name (letters, digits, '.', '_', '-')");
        if (name is not null && given is not null && given != name) errors.Add("name", $"is '{given}' but the address names '{name}'");
        name ??= given;
        if (name is null && !element.TryGetProperty("name", out _)) errors.Add("name", "is required");
        var location = String(element, "location", "", errors, null, "an IANA time zone") ?? "UTC";
        if (location.Length > 64) errors.Add("location", "is longer than 64 characters");
        else if (!TimeIntervals.TryZone(location, out var zoneError)) errors.Add("location", zoneError);
        var ranges = new List<TimeRangeSet>();
        if (!element.TryGetProperty("timeIntervals", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() is 0 or > 100)
        {
            errors.Add("timeIntervals", "is required: 1 to 100 windows, e.g. {\"weekdays\":[\"monday:friday\"],\"times\":[{\"startTime\":\"09:00\",\"endTime\":\"17:00\"}]}");
        }
        else
        {
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                var field = $"timeIntervals[{i++}]";
                if (!Object(item, field, ["times", "weekdays", "daysOfMonth", "months", "years"], errors)) continue;
                ranges.Add(new TimeRangeSet
                {
                    Times = Times(item, field, errors),
                    Weekdays = Ranges(item, "weekdays", field, errors, Weekday, 0, 6),
                    DaysOfMonth = Ranges(item, "daysOfMonth", field, errors, Int, -31, 31),
                    Months = Ranges(item, "months", field, errors, Month, 1, 12),
                    Years = Ranges(item, "years", field, errors, Int, 1, 9999),
                });
            }
        }
        return errors.Any ? null : new TimeInterval(name!, [.. ranges], location);
    }

    public static InhibitRule? ReadInhibition(JsonElement element, string? id, RequestErrors errors)
    {
        if (!Object(element, "", ["id", "sourceMatchers", "targetMatchers", "equal"], errors)) return null;
        var given = String(element, "id", "", errors, Name(), "an id (letters, digits, '.', '_', '-')");
        if (id is not null && given is not null && given != id) errors.Add("id", $"is '{given}' but the address names '{id}'");
        id ??= given;
        if (id is null && !element.TryGetProperty("id", out _)) errors.Add("id", "is required");
        var source = Matchers(element, "sourceMatchers", "", errors);
        var target = Matchers(element, "targetMatchers", "", errors);
        if (source.Length == 0 && !errors.Any) errors.Add("sourceMatchers", "is required: the alerts that inhibit, e.g. [\"alertname=Server down\"]");
        if (target.Length == 0 && !errors.Any) errors.Add("targetMatchers", "is required: the alerts inhibited, e.g. [\"severity=warning\"]");
        var equal = Names(element, "equal", "", errors, label: true);
        return errors.Any ? null : new InhibitRule(id!, source, target, equal);
    }

    private static string Path(string field, string name) => field.Length == 0 ? name : $"{field}.{name}";

    private static bool Object(JsonElement element, string field, string[] known, RequestErrors errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field.Length == 0 ? "body" : field, "must be an object");
            return false;
        }
        var ok = true;
        foreach (var member in element.EnumerateObject())
        {
            if (!known.Contains(member.Name))
            {
                var shown = member.Name.Length <= 64 ? member.Name : member.Name[..64] + "…";
                errors.Add(Path(field, shown), $"is not a known field; expected one of: {string.Join(", ", known)}");
                ok = false;
            }
        }
        return ok;
    }

    private static string? String(JsonElement element, string name, string field, RequestErrors errors, Regex? pattern, string what)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String || pattern is not null && !pattern.IsMatch(value.GetString()!))
        {
            errors.Add(Path(field, name), $"must be {what}");
            return null;
        }
        return value.GetString();
    }

    private static bool Bool(JsonElement element, string name, string field, RequestErrors errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return false;
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
        errors.Add(Path(field, name), "must be true or false");
        return false;
    }

    private static TimeSpan? Duration(JsonElement element, string name, string field, RequestErrors errors, bool positive = false)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(Path(field, name), "must be a duration such as \"30s\", \"5m\" or \"4h\"");
            return null;
        }
        if (!Durations.TryParse(value.GetString(), out var span, out var error))
        {
            errors.Add(Path(field, name), error);
            return null;
        }
        if (positive && span <= TimeSpan.Zero || span > TimeSpan.FromDays(30))
        {
            errors.Add(Path(field, name), positive ? "must be more than 0s and at most 30d" : "must be at most 30d");
            return null;
        }
        return span;
    }

    private static string[] Names(JsonElement element, string name, string field, RequestErrors errors, bool label)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return [];
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > MaxNames)
        {
            errors.Add(Path(field, name), $"must be an array of at most {MaxNames} names");
            return [];
        }
        var names = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()! : null;
            var valid = text is not null && (label ? text == RouteTree.EveryLabel || LabelName().IsMatch(text) && text.Length <= 128 : Name().IsMatch(text));
            if (!valid) errors.Add($"{Path(field, name)}[{i}]", label ? "must be a label name (or \"...\" for every label)" : "must be a name (letters, digits, '.', '_', '-')");
            else names.Add(text!);
            i++;
        }
        return [.. names];
    }

    private static Matcher[] Matchers(JsonElement element, string name, string field, RequestErrors errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return [];
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > SilenceRequest.MaxMatchers)
        {
            errors.Add(Path(field, name), $"must be an array of at most {SilenceRequest.MaxMatchers} matchers such as \"severity=critical\"");
            return [];
        }
        var matchers = new List<Matcher>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (SilenceRequest.ReadMatcher(item, $"{Path(field, name)}[{i++}]", errors) is { } matcher) matchers.Add(matcher);
        }
        return [.. matchers];
    }

    private static IntRange[] Times(JsonElement item, string field, RequestErrors errors)
    {
        if (!item.TryGetProperty("times", out var times) || times.ValueKind == JsonValueKind.Null) return [];
        if (times.ValueKind != JsonValueKind.Array || times.GetArrayLength() > 100)
        {
            errors.Add($"{field}.times", "must be an array of {\"startTime\":\"HH:MM\",\"endTime\":\"HH:MM\"}");
            return [];
        }
        var list = new List<IntRange>();
        var i = 0;
        foreach (var t in times.EnumerateArray())
        {
            var at = $"{field}.times[{i++}]";
            if (!Object(t, at, ["startTime", "endTime"], errors)) continue;
            var start = Clock(t, "startTime", at, errors);
            var end = Clock(t, "endTime", at, errors);
            if (start is null || end is null) continue;
            if (end <= start) errors.Add($"{at}.endTime", "must be after startTime (a window past midnight is two windows)");
            else list.Add(new IntRange(start.Value, end.Value));
        }
        return [.. list];
    }

    private static int? Clock(JsonElement element, string name, string field, RequestErrors errors)
    {
        var text = element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : null;
        if (text is { Length: 5 } && text[2] == ':' && int.TryParse(text[..2], out var h) && int.TryParse(text[3..], out var m) && h is >= 0 and <= 24 && m is >= 0 and < 60 && h * 60 + m <= 1440)
        {
            return h * 60 + m;
        }
        errors.Add($"{field}.{name}", "must be a time of day \"HH:MM\" from 00:00 to 24:00");
        return null;
    }

    private static IntRange[] Ranges(JsonElement item, string name, string field, RequestErrors errors, Func<string, int?> parse, int min, int max)
    {
        if (!item.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null) return [];
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > 100)
        {
            errors.Add($"{field}.{name}", "must be an array of values or \"from:to\" ranges");
            return [];
        }
        var ranges = new List<IntRange>();
        var i = 0;
        foreach (var entry in list.EnumerateArray())
        {
            var at = $"{field}.{name}[{i++}]";
            var text = entry.ValueKind switch { JsonValueKind.String => entry.GetString()!, JsonValueKind.Number => entry.GetRawText(), _ => "" };
            var parts = text.Split(':');
            var from = parts.Length is 1 or 2 ? parse(parts[0].Trim()) : null;
            var to = parts.Length == 2 ? parse(parts[1].Trim()) : from;
            if (from is not { } f || to is not { } t || f < min || t > max || f == 0 && min < 0 || t == 0 && min < 0 || (Math.Sign(f) == Math.Sign(t) && f > t))
            {
                errors.Add(at, $"'{(text.Length <= 32 ? text : text[..32] + "…")}' is not a value or range from {min} to {max}");
                continue;
            }
            ranges.Add(new IntRange(f, t));
        }
        return [.. ranges];
    }

    private static int? Int(string text) => int.TryParse(text, out var n) ? n : null;

    private static readonly string[] Days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    private static readonly string[] MonthNames = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    private static int? Weekday(string text) => Array.IndexOf(Days, text.ToLowerInvariant()) is var i and >= 0 ? i : null;

    private static int? Month(string text) => Array.IndexOf(MonthNames, text.ToLowerInvariant()) is var i and >= 0 ? i + 1 : Int(text);
}

public sealed record RouteResponse(
    string? Receiver, string[] Matchers, bool Continue, string[]? GroupBy, string? GroupWait, string? GroupInterval, string? RepeatInterval,
    string[] MuteTimeIntervals, string[] ActiveTimeIntervals, RouteResponse[] Routes)
{
    public static RouteResponse From(Route r) => new(
        r.Receiver, [.. r.Matchers.Select(m => m.ToString())], r.Continue, r.GroupBy, Format(r.GroupWait), Format(r.GroupInterval), Format(r.RepeatInterval),
        r.MuteTimeIntervals, r.ActiveTimeIntervals, [.. r.Routes.Select(From)]);

    private static string? Format(TimeSpan? span) => span is { } s ? Durations.Format(s) : null;
}

public sealed record ReceiverResponse(string Name, string[] Channels, string? EscalationPolicy, bool SendResolved, int MaxAlerts)
{
    public static ReceiverResponse From(Receiver r) => new(r.Name, r.Channels, r.EscalationPolicy, r.SendResolved, r.MaxAlerts);
}

public sealed record RoutingResponse(long Version, RouteResponse Route, ReceiverResponse[] Receivers)
{
    public static RoutingResponse From(RoutingSet set) => new(set.Version, RouteResponse.From(set.Root), [.. set.Receivers.Select(ReceiverResponse.From)]);
}

public sealed record TimeRangeResponse(object[] Times, string[] Weekdays, string[] DaysOfMonth, string[] Months, string[] Years);

public sealed record TimeIntervalResponse(string Name, string Location, TimeRangeResponse[] TimeIntervals)
{
    private static readonly string[] Days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

    public static TimeIntervalResponse From(TimeInterval t) => new(t.Name, t.Location, [.. t.Ranges.Select(r => new TimeRangeResponse(
        [.. r.Times.Select(x => new { startTime = $"{x.From / 60:00}:{x.From % 60:00}", endTime = $"{x.To / 60:00}:{x.To % 60:00}" })],
        [.. r.Weekdays.Select(w => w.From == w.To ? Days[w.From] : $"{Days[w.From]}:{Days[w.To]}")],
        [.. r.DaysOfMonth.Select(Text)], [.. r.Months.Select(Text)], [.. r.Years.Select(Text)]))]);

    private static string Text(IntRange r) => r.From == r.To ? $"{r.From}" : $"{r.From}:{r.To}";
}

public sealed record InhibitionResponse(string Id, string[] SourceMatchers, string[] TargetMatchers, string[] Equal)
{
    public static InhibitionResponse From(InhibitRule r) => new(r.Id, [.. r.SourceMatchers.Select(m => m.ToString())], [.. r.TargetMatchers.Select(m => m.ToString())], r.Equal);
}

public sealed record RouteTestResponse(string Route, string? Receiver, string[] GroupBy, Dictionary<string, string> GroupLabels, string IncidentId,
    string GroupWait, string GroupInterval, string RepeatInterval, string[] MuteTimeIntervals, string[] ActiveTimeIntervals)
{
    public static RouteTestResponse From(RouteMatch m) => new(m.Path, m.Receiver, m.GroupBy, m.GroupLabels, m.IncidentId,
        Durations.Format(m.GroupWait), Durations.Format(m.GroupInterval), Durations.Format(m.RepeatInterval), m.MuteTimeIntervals, m.ActiveTimeIntervals);
}
