namespace Monitoring.OnCall;

/// <summary>How long one person's turn in a layer lasts, counted on the schedule's wall clock.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ShiftLength")]
public sealed record ShiftLength(
    [property: Id(0), JsonPropertyName("Count")] int Count,
    [property: Id(1), JsonPropertyName("Unit")] ShiftUnit Unit)
{
    /// <summary>Wall-clock hours: a day is 24 of them whatever the clocks do that day, so a 09:00 handoff stays 09:00.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Hours => Unit switch { ShiftUnit.Days => 24L * Count, ShiftUnit.Weeks => 168L * Count, _ => Count };
}

[JsonConverter(typeof(JsonStringEnumConverter<ShiftUnit>))]
public enum ShiftUnit
{
    Hours,
    Days,
    Weeks,
}

/// <summary>
/// When a layer is on: on each of <see cref="Days"/>, from <see cref="From"/> to <see cref="To"/> local time. A window
/// whose end is at or before its start runs past midnight into the next day (22:00–06:00).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ScheduleRestriction")]
public sealed record Restriction(
    [property: Id(0), JsonPropertyName("Days")] DayOfWeek[] Days,
    [property: Id(1), JsonPropertyName("From")] TimeOnly From,
    [property: Id(2), JsonPropertyName("To")] TimeOnly To);

/// <summary>
/// One rotation: its users take turns of <see cref="Shift"/>, the first from <see cref="Start"/> (a local time in the
/// schedule's zone), only within its restrictions when it has any.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ScheduleLayer")]
public sealed record ScheduleLayer(
    [property: Id(0), JsonPropertyName("Name")] string Name,
    [property: Id(1), JsonPropertyName("Users")] string[] Users,
    [property: Id(2), JsonPropertyName("Start")] DateTime Start,
    [property: Id(3), JsonPropertyName("Shift")] ShiftLength Shift,
    [property: Id(4), JsonPropertyName("Restrictions")] Restriction[] Restrictions);

/// <summary>
/// Someone takes a span of time: in place of <see cref="Replaces"/> while that person is on call, or beside whoever
/// is when it names nobody.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ScheduleOverride")]
public sealed record ScheduleOverride(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("User")] string User,
    [property: Id(2), JsonPropertyName("Start")] DateTimeOffset Start,
    [property: Id(3), JsonPropertyName("End")] DateTimeOffset End,
    [property: Id(4), JsonPropertyName("Replaces")] string? Replaces);

/// <summary>
/// An on-call schedule: a time zone and ordered layers, the last the highest (where layers overlap, the higher one's
/// person is on call), and overrides on top.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.Schedule")]
public sealed record Schedule(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("TimeZone")] string TimeZone,
    [property: Id(3), JsonPropertyName("Layers")] ScheduleLayer[] Layers,
    [property: Id(4), JsonPropertyName("Overrides")] ScheduleOverride[] Overrides,
    [property: Id(5), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt);

/// <summary>A stretch of time with the same people on call, and where they come from (a layer's name, or "override").</summary>
[GenerateSerializer, Immutable, Alias("mcp.Shift")]
public sealed record Shift(
    [property: Id(0)] DateTimeOffset Start,
    [property: Id(1)] DateTimeOffset End,
    [property: Id(2)] string[] Users,
    [property: Id(3)] string Source);
