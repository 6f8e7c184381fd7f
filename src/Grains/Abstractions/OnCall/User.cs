using Monitoring.Common;

namespace Monitoring.OnCall;

[JsonConverter(typeof(JsonStringEnumConverter<ContactType>))]
public enum ContactType
{
    Email,
    Slack,
    Webhook,
}

/// <summary>
/// One way to reach a person: through <see cref="Channel"/> (an email channel's server, a Slack channel's bot token, a
/// webhook channel), to <see cref="Address"/> (an email address, or a Slack user id for a direct message; a webhook
/// channel is the person's own and needs none).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ContactMethod")]
public sealed record ContactMethod(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Type")] ContactType Type,
    [property: Id(2), JsonPropertyName("Channel")] string Channel,
    [property: Id(3), JsonPropertyName("Address")] string? Address);

/// <summary>Use <see cref="ContactMethod"/> this long after the person is paged, if the page is still unacknowledged.</summary>
[GenerateSerializer, Immutable, Alias("mcp.NotificationRule")]
public sealed record NotificationRule(
    [property: Id(0), JsonPropertyName("ContactMethod")] string ContactMethod,
    [property: Id(1), JsonPropertyName("After")] TimeSpan After);

/// <summary>
/// A person who can be paged: their time zone, how to reach them, and in which order. With no notification rules,
/// every contact method is used at once.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.User")]
public sealed record User(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("TimeZone")] string TimeZone,
    [property: Id(3), JsonPropertyName("ContactMethods")] ContactMethod[] ContactMethods,
    [property: Id(4), JsonPropertyName("NotificationRules")] NotificationRule[] NotificationRules,
    [property: Id(5), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    /// <summary>How long before each of their shifts starts the person is told so (none: not told).</summary>
    [Id(6), JsonPropertyName("ShiftNotice")] public TimeSpan? ShiftNotice { get; init; }

    public static readonly TimeSpan MaxShiftNotice = TimeSpan.FromHours(24);

    public const int MaxContactMethods = 10;
    public const int MaxNotificationRules = 10;
    public static readonly TimeSpan MaxRuleDelay = TimeSpan.FromHours(24);

    /// <summary>The rules in force: the person's own, or every contact method at once.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<NotificationRule> RulesInForce => NotificationRules.Length > 0
        ? NotificationRules.OrderBy(r => r.After)
        : ContactMethods.Select(c => new NotificationRule(c.Id, TimeSpan.Zero));
}

[Alias("mcp.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(User user);

    Task<WriteResult> UpdateAsync(User user);

    /// <summary>Refused while a schedule or an escalation policy names the person.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<User?> GetAsync();
}

/// <summary>One schedule. It hears how its shift notices were delivered (<see cref="Channels.IDeliverySink"/>), and ignores it.</summary>
[Alias("mcp.IScheduleGrain")]
public interface IScheduleGrain : IGrainWithStringKey, Channels.IDeliverySink
{
    Task<WriteResult> CreateAsync(Schedule schedule);

    /// <summary>Replaces layers, name and zone; the overrides stay unless the body gives its own.</summary>
    Task<WriteResult> UpdateAsync(Schedule schedule);

    /// <summary>Refused while an escalation policy names the schedule.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<Schedule?> GetAsync();

    Task<WriteResult> AddOverrideAsync(ScheduleOverride added);

    Task<WriteResult> RemoveOverrideAsync(string overrideId);

    /// <summary>Who is on call at a moment, since and until when, and who is next; null when there is no such schedule.</summary>
    [AlwaysInterleave]
    Task<OnCallAnswer?> OnCallAsync(DateTimeOffset at);

    /// <summary>The stretches with the same people on call, gaps included; null when there is no such schedule.</summary>
    [AlwaysInterleave]
    Task<Shift[]?> ShiftsAsync(DateTimeOffset from, DateTimeOffset to);
}

/// <summary>Who is on call at <see cref="At"/>, where they come from, since and until when the same people are, and the stretch after.</summary>
[GenerateSerializer, Immutable, Alias("mcp.OnCallAnswer")]
public sealed record OnCallAnswer(
    [property: Id(0)] string Schedule,
    [property: Id(1)] string Name,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string[] Users,
    [property: Id(4)] string Source,
    [property: Id(5)] DateTimeOffset? Since,
    [property: Id(6)] DateTimeOffset? Until,
    [property: Id(7)] Shift? Next);

/// <summary>Limits of what a schedule answers at once.</summary>
public static class ScheduleLimits
{
    /// <summary>The longest span of shifts computed at once.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(400);

    public const string OverrideSource = "override";
}
