using Monitoring.Common;
using Monitoring.Silences;

namespace Monitoring.Routing;

/// <summary>
/// One node of the routing tree, with Alertmanager's semantics: an alert enters a route when every matcher matches
/// its labels; the first matching child takes it (and stops the search unless that child has <see cref="Continue"/>);
/// a route no child takes keeps the alert itself. Unset fields are inherited from the parent (time intervals are not,
/// as in Alertmanager).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.Route")]
public sealed record Route
{
    [Id(0), JsonPropertyName("Receiver")] public string? Receiver { get; init; }
    [Id(1), JsonPropertyName("Matchers")] public Matcher[] Matchers { get; init; } = [];
    [Id(2), JsonPropertyName("Continue")] public bool Continue { get; init; }

    /// <summary>Label names that split alerts into groups; <c>["..."]</c> is one group per alert; empty is one group.</summary>
    [Id(3), JsonPropertyName("GroupBy")] public string[]? GroupBy { get; init; }

    [Id(4), JsonPropertyName("GroupWait")] public TimeSpan? GroupWait { get; init; }
    [Id(5), JsonPropertyName("GroupInterval")] public TimeSpan? GroupInterval { get; init; }
    [Id(6), JsonPropertyName("RepeatInterval")] public TimeSpan? RepeatInterval { get; init; }
    [Id(7), JsonPropertyName("MuteTimeIntervals")] public string[] MuteTimeIntervals { get; init; } = [];
    [Id(8), JsonPropertyName("ActiveTimeIntervals")] public string[] ActiveTimeIntervals { get; init; } = [];
    [Id(9), JsonPropertyName("Routes")] public Route[] Routes { get; init; } = [];
}

/// <summary>Who hears an incident: channels told of every change, and an escalation policy run per incident.</summary>
[GenerateSerializer, Immutable, Alias("mcp.Receiver")]
public sealed record Receiver(
    [property: Id(0), JsonPropertyName("Name")] string Name,
    [property: Id(1), JsonPropertyName("Channels")] string[] Channels,
    [property: Id(2), JsonPropertyName("EscalationPolicy")] string? EscalationPolicy)
{
    public const int DefaultMaxAlerts = 100;

    /// <summary>Whether the receiver hears that an incident resolved.</summary>
    [Id(3), JsonPropertyName("SendResolved")] public bool SendResolved { get; init; } = true;

    /// <summary>How many alerts one message lists at most; the rest are counted as truncated.</summary>
    [Id(4), JsonPropertyName("MaxAlerts")] public int MaxAlerts { get; init; } = DefaultMaxAlerts;
}

/// <summary>An inclusive range of whole numbers (weekdays 0–6 from Sunday, days of month with negatives from the end, months 1–12, years).</summary>
[GenerateSerializer, Immutable, Alias("mcp.IntRange")]
public sealed record IntRange([property: Id(0), JsonPropertyName("From")] int From, [property: Id(1), JsonPropertyName("To")] int To);

/// <summary>
/// One recurring window, as in Alertmanager's time_intervals: every non-empty list must contain the moment (in the
/// interval's time zone); an empty list places no limit. Times are minutes from midnight, the end exclusive.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.TimeRangeSet")]
public sealed record TimeRangeSet
{
    [Id(0), JsonPropertyName("Times")] public IntRange[] Times { get; init; } = [];
    [Id(1), JsonPropertyName("Weekdays")] public IntRange[] Weekdays { get; init; } = [];
    [Id(2), JsonPropertyName("DaysOfMonth")] public IntRange[] DaysOfMonth { get; init; } = [];
    [Id(3), JsonPropertyName("Months")] public IntRange[] Months { get; init; } = [];
    [Id(4), JsonPropertyName("Years")] public IntRange[] Years { get; init; } = [];
}

/// <summary>A named set of recurring windows, used by routes to mute or to allow notifications.</summary>
[GenerateSerializer, Immutable, Alias("mcp.TimeInterval")]
public sealed record TimeInterval(
    [property: Id(0), JsonPropertyName("Name")] string Name,
    [property: Id(1), JsonPropertyName("Ranges")] TimeRangeSet[] Ranges,
    [property: Id(2), JsonPropertyName("Location")] string Location);

/// <summary>
/// While an alert matching <see cref="SourceMatchers"/> fires, alerts matching <see cref="TargetMatchers"/> that have
/// the same values for every label in <see cref="Equal"/> send nothing. An alert matching both sides never inhibits itself.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.InhibitRule")]
public sealed record InhibitRule(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("SourceMatchers")] Matcher[] SourceMatchers,
    [property: Id(2), JsonPropertyName("TargetMatchers")] Matcher[] TargetMatchers,
    [property: Id(3), JsonPropertyName("Equal")] string[] Equal);

/// <summary>The routing tree, its receivers, the time intervals and the inhibition rules, at a version.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RoutingSet")]
public sealed record RoutingSet(
    [property: Id(0), JsonPropertyName("Version")] long Version,
    [property: Id(1), JsonPropertyName("Root")] Route Root,
    [property: Id(2), JsonPropertyName("Receivers")] Receiver[] Receivers,
    [property: Id(3), JsonPropertyName("TimeIntervals")] TimeInterval[] TimeIntervals,
    [property: Id(4), JsonPropertyName("Inhibitions")] InhibitRule[] Inhibitions)
{
    public static readonly RoutingSet Empty = new(0, new Route(), [], [], []);
}

/// <summary>The routing tree, time intervals and inhibitions: one document at a version, changed as a whole or by item.</summary>
[Alias("mcp.IRoutingGrain")]
public interface IRoutingGrain : IGrainWithStringKey
{
    public const string Key = "all";

    /// <summary>The set when its version differs from <paramref name="knownVersion"/>, else null (cheap; interleaved).</summary>
    [AlwaysInterleave]
    Task<RoutingSet?> GetIfChangedAsync(long knownVersion);

    Task<WriteResult> SetTreeAsync(Route root, Receiver[] receivers);

    Task<WriteResult> PutTimeIntervalAsync(TimeInterval interval, bool create);

    Task<WriteResult> DeleteTimeIntervalAsync(string name);

    Task<WriteResult> PutInhibitionAsync(InhibitRule rule, bool create);

    Task<WriteResult> DeleteInhibitionAsync(string id);
}
