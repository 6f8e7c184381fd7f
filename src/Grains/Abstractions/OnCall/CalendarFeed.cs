namespace Monitoring.OnCall;

/// <summary>
/// An iCal feed of a schedule's or a person's shifts, read by calendars with a secret token in its URL. Only the token's
/// hash is kept; the token is shown once, when the feed is made, and revoking the feed ends it.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.CalendarFeed")]
public sealed record CalendarFeed(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Kind")] string Kind,
    [property: Id(2), JsonPropertyName("Target")] string Target,
    [property: Id(3), JsonPropertyName("TokenHash")] string TokenHash,
    [property: Id(4), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt)
{
    public const string Schedule = "schedule";
    public const string User = "user";
}

/// <summary>A feed just made, with its token (never stored, never shown again).</summary>
[GenerateSerializer, Immutable, Alias("mcp.CalendarFeedCreated")]
public sealed record CalendarFeedCreated([property: Id(0)] CalendarFeed Feed, [property: Id(1)] string Token);

/// <summary>
/// One event as a feed last published it: its stable UID, its times and title, its SEQUENCE (raised with each change, so
/// calendars update it in place) and whether it was cancelled (a shift that is no longer there).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.PublishedEvent")]
public sealed record PublishedEvent(
    [property: Id(0), JsonPropertyName("Uid")] string Uid,
    [property: Id(1), JsonPropertyName("Start")] DateTimeOffset Start,
    [property: Id(2), JsonPropertyName("End")] DateTimeOffset End,
    [property: Id(3), JsonPropertyName("Summary")] string Summary,
    [property: Id(4), JsonPropertyName("Sequence")] int Sequence,
    [property: Id(5), JsonPropertyName("Cancelled")] bool Cancelled);

/// <summary>The feeds of one schedule or person (key "kind/id").</summary>
[Alias("mcp.ICalendarFeedsGrain")]
public interface ICalendarFeedsGrain : IGrainWithStringKey
{
    Task<CalendarFeedCreated> CreateAsync();

    Task<CalendarFeed[]> ListAsync();

    Task<bool> RevokeAsync(string feedId);

    /// <summary>The schedule or person is deleted: every feed ends, so one made again under the same id starts with none.</summary>
    Task RevokeAllAsync();
}

/// <summary>One feed, keyed by its token's hash: what it shows, and what it last published.</summary>
[Alias("mcp.ICalendarFeedGrain")]
public interface ICalendarFeedGrain : IGrainWithStringKey
{
    Task OpenAsync(CalendarFeed feed);

    Task RevokeAsync();

    [AlwaysInterleave]
    Task<CalendarFeed?> GetAsync();

    /// <summary>
    /// Takes the events the feed shows now and answers what to serve: each with its sequence raised if it changed, and
    /// those published before but gone now as cancelled, until they fall out of the window (before <paramref name="windowStart"/>).
    /// </summary>
    Task<PublishedEvent[]> PublishAsync(PublishedEvent[] current, DateTimeOffset windowStart);
}
