using Monitoring.Escalation;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// The paging rules an alert and a group share, as tables without a cluster: when a firing message repeats
/// (<see cref="Repeats"/>), and what a due escalation step says (<see cref="EscalationStep.Status"/>,
/// <see cref="EscalationPolicy.Describe"/>).
/// </summary>
public sealed class PagingRuleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, int?, int, bool, int?> RepeatRows => new()
    {
        // case, last firing or repeat message (minutes after T0), interval (minutes), acknowledged → next repeat (minutes after T0)
        { "an interval after the last message", 0, 60, false, 60 },
        { "counted from the latest message", 45, 60, false, 105 },
        { "none before a first message", null, 60, false, null },
        { "none once acknowledged", 0, 60, true, null },
        { "an interval of zero never repeats", 0, 0, false, null },
    };

    [Theory]
    [MemberData(nameof(RepeatRows))]
    public void A_firing_message_repeats_an_interval_after_the_last_one_until_acknowledged(string @case, int? lastSent, int interval, bool acknowledged, int? expected)
    {
        _ = @case;
        var last = lastSent is { } m ? T0.AddMinutes(m) : (DateTimeOffset?)null;
        var due = Repeats.DueAt(last, TimeSpan.FromMinutes(interval), acknowledged);
        Assert.Equal(expected is { } e ? T0.AddMinutes(e) : null, due);
        if (due is { } at)
        {
            Assert.False(Repeats.Due(last, TimeSpan.FromMinutes(interval), acknowledged, at.AddTicks(-1)));
            Assert.True(Repeats.Due(last, TimeSpan.FromMinutes(interval), acknowledged, at));
        }
        else
        {
            Assert.False(Repeats.Due(last, TimeSpan.FromMinutes(interval), acknowledged, T0.AddDays(30)));
        }
    }

    public static TheoryData<int, int, string, string> StepRows => new()
    {
        // steps taken before, level told, status it carries, what the history and timeline say
        { 0, 1, "firing", "escalated to level 1 of p" },
        { 1, 2, "escalated", "escalated to level 2 of p" },
        { 2, 1, "escalated", "escalated to level 1 of p" }, // the second round starts again at level 1, still escalated
        { 3, 2, "escalated", "escalated to level 2 of p" },
    };

    [Theory]
    [MemberData(nameof(StepRows))]
    public void A_step_after_the_first_is_escalated_in_every_round(int stepsTaken, int level, string status, string line)
    {
        var policy = new EscalationPolicy("p", "On call", [new EscalationLevel(TimeSpan.Zero, ["a"]), new EscalationLevel(TimeSpan.FromMinutes(10), ["b"])], 1, TimeSpan.FromMinutes(15), T0);
        var step = policy.Step(stepsTaken, T0);
        Assert.Equal(level, step.Level);
        Assert.Equal(status, step.Status);
        Assert.Equal(stepsTaken > 0, step.Escalates);
        Assert.Equal(line, policy.Describe(step));
    }

    [Fact]
    public void The_policy_made_from_escalate_after_says_how_long_nobody_acknowledged()
    {
        var rule = new Monitoring.Rules.AlertRule("r", "High error rate", "error_rate > 0.05", TimeSpan.Zero, Monitoring.Common.Severity.Critical, ["c"], "m",
            TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(20), [], true, true, new(), T0);
        var policy = Monitoring.Alerts.AlertLifecycle.PolicyFor(rule, null)!;
        var step = policy.Step(1, T0);
        Assert.Equal("escalated", step.Status);
        Assert.Equal(["c"], step.Channels);
        Assert.Equal("unacknowledged for 20m", policy.Describe(step, simple: true));
    }
}
