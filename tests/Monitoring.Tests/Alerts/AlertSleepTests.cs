using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Rules;

namespace Monitoring.Tests.Alerts;

/// <summary>
/// When a quiet open alert may sleep (<see cref="AlertJournal.SleepsUntil"/>), as a table without a cluster: what
/// keeps it awake, and when its server is asked to wake it. The reminder period is a minute, the longest sleep an hour.
/// </summary>
public sealed class AlertSleepTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxSleep = TimeSpan.FromHours(1);

    private static AlertState Firing() => new()
    {
        Rule = new AlertRule("r", "High error rate", "error_rate > 0.05", TimeSpan.Zero, Severity.Critical, ["c"], "m", TimeSpan.FromMinutes(30), null, [], true, true, new(), Now),
        Life = new AlertLife { Phase = AlertPhase.Firing, Episode = 1, FiredAt = Now.AddMinutes(-5) },
    };

    private static DeliveryRecord Delivery(DeliveryState state, double minutesAgo) =>
        new("k", "r:s", "c", NotificationKind.Firing, state, 1, Now.AddMinutes(-minutesAgo), Now.AddMinutes(-minutesAgo), null);

    public static TheoryData<string, Action<AlertState>, double?, string> Rows => new()
    {
        // case, the state, its next deadline (minutes from now, or none), sleeps until (minutes from now) or "awake"
        { "quiet, nothing due: an hour", _ => { }, null, "60" },
        { "a repeat due in 30 minutes: a reminder period before it", _ => { }, 30, "29" },
        { "a deadline within a reminder period: its own timer keeps it", _ => { }, 0.5, "awake" },
        { "resolved: nothing to sleep on", s => s.Life = s.Life with { Phase = AlertPhase.Resolved }, null, "awake" },
        { "a message not yet handed over", s => s.Outbox.Add(new HandOff("c", null!)), null, "awake" },
        { "a cancel not yet confirmed", s => s.Cancelling.Add(new PendingCancel(new PendingPage("c", "t", "k", Now), "acknowledged")), null, "awake" },
        { "a report to retry", s => s.ReportDue = true, null, "awake" },
        { "a hand-off to retry", s => s.HandOffRetryAt = Now.AddSeconds(30), null, "awake" },
        { "an inhibition source (the inhibitors rely on its word)", s => s.Inhibiting = true, null, "awake" },
        { "in an incident (it says its status each reminder period)", s => s.Routes = [new RouteMatch("0", "ops", [], TimeSpan.Zero, Period, Period, [], [], new(), "inc-1")], null, "awake" },
        { "a delivery not yet reported, sent just now", s => s.Deliveries.Add(Delivery(DeliveryState.Pending, 0.5)), null, "awake" },
        { "a delivery never reported for a reminder period: sleeps all the same", s => s.Deliveries.Add(Delivery(DeliveryState.Pending, 2)), null, "60" },
        { "its delivery reported", s => s.Deliveries.Add(Delivery(DeliveryState.Delivered, 0.5)), null, "60" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void A_quiet_open_alert_sleeps_until_a_reminder_period_before_its_next_deadline(string name, Action<AlertState> arrange, double? dueIn, string expected)
    {
        var state = Firing();
        arrange(state);
        var until = AlertJournal.SleepsUntil(state, dueIn is { } m ? Now.AddMinutes(m) : null, Period, MaxSleep, Now);
        Assert.True(expected == (until is { } at ? (at - Now).TotalMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture) : "awake"), $"{name}: {until}");
    }
}
