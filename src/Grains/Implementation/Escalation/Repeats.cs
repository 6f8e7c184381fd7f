namespace Monitoring.Escalation;

/// <summary>
/// The repeat rule, for a rule's alert (its <c>cooldown</c>) and a route's group (its <c>repeat_interval</c>) alike: a
/// firing message is sent again an interval after the last firing or repeat message, until someone acknowledges.
/// Nothing repeats before a first message went out, nor with an interval of zero (a rule's way of saying never).
/// </summary>
public static class Repeats
{
    /// <summary>When the next repeat is due, or null when none will be.</summary>
    public static DateTimeOffset? DueAt(DateTimeOffset? lastSent, TimeSpan interval, bool acknowledged) =>
        acknowledged || interval <= TimeSpan.Zero || lastSent is not { } sent ? null : sent + interval;

    /// <summary>Whether a repeat is due by <paramref name="now"/>.</summary>
    public static bool Due(DateTimeOffset? lastSent, TimeSpan interval, bool acknowledged, DateTimeOffset now) =>
        DueAt(lastSent, interval, acknowledged) is { } due && due <= now;
}
