using Monitoring.Common;

namespace Monitoring.Slo;

/// <summary>What an objective counts as a good event.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SloIndicator>))]
public enum SloIndicator
{
    /// <summary>Requests: good when they succeed.</summary>
    Availability,

    /// <summary>Requests: good when they take at most <see cref="SloDefinition.LatencyThreshold"/> (a history bucket bound).</summary>
    Latency,

    /// <summary>The product's own probes: good when they succeed.</summary>
    Probe,
}

/// <summary>
/// A service-level objective: the servers it selects (by label equality; all when empty), optionally one tool, what
/// counts as good, the share of events that must be good (<see cref="Objective"/>, in percent) over a rolling
/// <see cref="Window"/> of 28 or 30 days. It is read per server, or for the selected servers as one set when
/// <see cref="Aggregate"/>. It alerts as the Workbook's multi-window, multi-burn-rate alerts do, with
/// <see cref="PageFactors"/> (1h and 5m, 6h and 30m) and <see cref="TicketFactors"/> (1d and 2h, 3d and 6h); a window
/// with fewer than <see cref="MinEvents"/> events has no burn rate.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.SloDefinition")]
public sealed record SloDefinition(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Selector")] Dictionary<string, string> Selector,
    [property: Id(3), JsonPropertyName("Tool")] string? Tool,
    [property: Id(4), JsonPropertyName("Indicator")] SloIndicator Indicator,
    [property: Id(5), JsonPropertyName("LatencyThreshold")] double? LatencyThreshold,
    [property: Id(6), JsonPropertyName("Objective")] double Objective,
    [property: Id(7), JsonPropertyName("Window")] TimeSpan Window,
    [property: Id(8), JsonPropertyName("Aggregate")] bool Aggregate,
    [property: Id(9), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(10), JsonPropertyName("PageFactors")] double[] PageFactors,
    [property: Id(11), JsonPropertyName("TicketFactors")] double[] TicketFactors,
    [property: Id(12), JsonPropertyName("MinEvents")] int MinEvents,
    [property: Id(13), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    public static readonly double[] DefaultPageFactors = [14.4, 6];
    public static readonly double[] DefaultTicketFactors = [3, 1];
    public const int DefaultMinEvents = 10;

    /// <summary>The share of events allowed to be bad: 0.005 for 99.5 %.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double Budget => 1 - Objective / 100;

    public bool Selects(IReadOnlyDictionary<string, string> labels) => Selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);
}

/// <summary>One of the Workbook's alert conditions: both windows burn faster than the factor.</summary>
[GenerateSerializer, Immutable, Alias("mcp.BurnCondition")]
public sealed record BurnCondition(
    [property: Id(0), JsonPropertyName("urgency")] string Urgency,
    [property: Id(1), JsonPropertyName("long")] TimeSpan Long,
    [property: Id(2), JsonPropertyName("short")] TimeSpan Short,
    [property: Id(3), JsonPropertyName("factor")] double Factor);

/// <summary>
/// An objective read over one server (or the set): good and all events over its window, the indicator, how much of
/// the error budget remains (1 is all of it, below 0 overspent), burn rates per window (null where there were too few
/// events to say), and the conditions that hold. Null figures mean no data: never good, never bad.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.SloReading")]
public sealed record SloReading(
    [property: Id(0), JsonPropertyName("events")] long Events,
    [property: Id(1), JsonPropertyName("good")] long Good,
    [property: Id(2), JsonPropertyName("sli")] double? Sli,
    [property: Id(3), JsonPropertyName("budgetRemaining")] double? BudgetRemaining,
    [property: Id(4), JsonPropertyName("burnRates")] double?[] BurnRates,
    [property: Id(5), JsonPropertyName("page")] BurnCondition? Page,
    [property: Id(6), JsonPropertyName("ticket")] BurnCondition? Ticket,
    [property: Id(7), JsonPropertyName("measuredSeconds")] long MeasuredSeconds,
    [property: Id(8), JsonPropertyName("since")] DateTimeOffset? Since);

/// <summary>One server's reading of an objective (or, with no server, the set's).</summary>
[GenerateSerializer, Immutable, Alias("mcp.SloRow")]
public sealed record SloRow(
    [property: Id(0), JsonPropertyName("server")] string? Server,
    [property: Id(1), JsonPropertyName("reading")] SloReading Reading);

/// <summary>An objective with its last evaluation: a row per selected server (the set's row first when aggregate).</summary>
[GenerateSerializer, Immutable, Alias("mcp.SloView")]
public sealed record SloView(
    [property: Id(0), JsonPropertyName("Definition")] SloDefinition Definition,
    [property: Id(1), JsonPropertyName("EvaluatedAt")] DateTimeOffset? EvaluatedAt,
    [property: Id(2), JsonPropertyName("Rows")] SloRow[] Rows,
    [property: Id(3), JsonPropertyName("Firing")] int Firing)
{
    /// <summary>The least budget remaining among the rows (null when none has data): what the listing sorts by.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double? WorstBudget => Rows.Select(r => r.Reading.BudgetRemaining).Where(b => b is not null).DefaultIfEmpty(null).Min();
}

/// <summary>One objective: its definition, its evaluation every minute, and the alerts it says.</summary>
[Alias("mcp.ISloGrain")]
public interface ISloGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(SloDefinition definition);

    Task<WriteResult> UpdateAsync(SloDefinition definition);

    /// <summary>Deletes the objective; its alerts, if firing, resolve.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<SloView?> GetAsync();

    /// <summary>Evaluates now rather than at the next minute, and answers what it found.</summary>
    Task<SloView?> EvaluateNowAsync();
}
