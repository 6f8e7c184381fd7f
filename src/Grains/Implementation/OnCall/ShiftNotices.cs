using Monitoring.Channels;
using Monitoring.Common;

namespace Monitoring.OnCall;

/// <summary>
/// A person's notice before their shift starts, at the lead time of their choosing (<see cref="User.ShiftNotice"/>):
/// which coming shifts are due a notice now, and the message. A person is told when they come on call, not again while
/// they stay on (a shift that continues them from the stretch before is not news).
/// </summary>
public static class ShiftNotices
{
    /// <summary>How far ahead a schedule looks for shifts to announce: the longest lead, and a tick more.</summary>
    public static readonly TimeSpan Horizon = User.MaxShiftNotice + TimeSpan.FromHours(1);

    /// <summary>The (person, shift start) pairs due a notice at <paramref name="now"/>, given each person's lead time.</summary>
    public static IEnumerable<(string User, Shift Shift)> Due(Schedule schedule, DateTimeOffset now, Func<string, TimeSpan?> leadOf)
    {
        var shifts = Rotation.Shifts(schedule, now, now + Horizon);
        for (var i = 0; i < shifts.Count; i++)
        {
            var shift = shifts[i];
            if (shift.Start <= now) continue;
            var before = i > 0 ? shifts[i - 1].Users : Rotation.OnCallAt(schedule, shift.Start.AddTicks(-1)).Users;
            foreach (var user in shift.Users.Except(before, StringComparer.Ordinal))
            {
                if (leadOf(user) is { } lead && shift.Start - lead <= now) yield return (user, shift);
            }
        }
    }

    /// <summary>Names go into the message's templates as text, never as template syntax.</summary>
    private static string Plain(string text) => new([.. text.Where(c => c is not ('{' or '}' or '%'))]);

    /// <summary>A key per notice, so each is sent once: the person and the shift's start.</summary>
    public static string Key(string user, Shift shift) => $"{user}/{shift.Start.UtcTicks}";

    /// <summary>The notice to one contact of the person: informational, through the channel's own templates overridden by ours.</summary>
    public static Notification Message(Schedule schedule, User user, ContactMethod method, Shift shift, int sequence, string reportTo, DateTimeOffset now)
    {
        var local = TimeZoneInfo.TryFindSystemTimeZoneById(user.TimeZone, out var zone) ? TimeZoneInfo.ConvertTime(shift.Start, zone) : shift.Start;
        var subject = $"Your on-call shift in {Plain(schedule.Name)} starts in {Durations.Format(shift.Start - now)}";
        var body = $"{Plain(user.Name)}: you are on call in {Plain(schedule.Name)} from {local:yyyy-MM-dd HH:mm} ({user.TimeZone}) to {shift.End:yyyy-MM-dd HH:mm} UTC.";
        return new Notification($"shift-{schedule.Id}", "", "Shift notice", "", schedule.Name, Severity.Info, NotificationKind.Test, "notice", body,
            (int)(shift.Start.ToUnixTimeSeconds() / 60), now, now, [], [], "", sequence)
        {
            Templates = new MessageTemplates(subject, body),
            ReportTo = reportTo,
            Recipient = new NotificationRecipient(user.Id, method.Id, method.Type == ContactType.Webhook ? null : method.Address, schedule.Id),
        };
    }
}
