using Monitoring.Escalation;

namespace Monitoring.Tests.Escalation;

/// <summary>The one rule of escalation, shared by alerts and incidents: pure, table-driven, on a fixed clock.</summary>
public sealed class EscalationStepTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Three levels (at once, +5m, +10m), repeated once 30 minutes after the last level.</summary>
    private static readonly EscalationPolicy Policy = new("p", "On-call",
        [new EscalationLevel(TimeSpan.Zero, ["a"]), new EscalationLevel(TimeSpan.FromMinutes(5), ["b"]), new EscalationLevel(TimeSpan.FromMinutes(10), ["c"])],
        Repeat: 1, RepeatInterval: TimeSpan.FromMinutes(30), default);

    [Theory]
    // steps taken, due (minutes after T0) → level, channel, escalates, next due (minutes after T0, -1 for none)
    [InlineData(0, 0, 1, "a", false, 5)]
    [InlineData(1, 5, 2, "b", true, 15)]
    [InlineData(2, 15, 3, "c", true, 45)]   // the next round starts the repeat interval after the last level
    [InlineData(3, 45, 1, "a", true, 50)]
    [InlineData(4, 50, 2, "b", true, 60)]
    [InlineData(5, 60, 3, "c", true, -1)]   // the last step of the last round: nothing after it
    public void Each_step_tells_its_level_and_sets_the_next(int taken, int dueMinutes, int level, string channel, bool escalates, int nextMinutes)
    {
        var step = Policy.Step(taken, T0.AddMinutes(dueMinutes));

        Assert.Equal(level, step.Level);
        Assert.Equal([channel], step.Channels);
        Assert.Equal(escalates, step.Escalates);
        Assert.Equal(taken + 1, step.StepsTaken);
        Assert.Equal(nextMinutes < 0 ? null : T0.AddMinutes(nextMinutes), step.NextAt);
        Assert.Equal(level, Policy.CurrentLevel(step.StepsTaken));
    }

    [Fact]
    public void Before_the_first_step_no_level_is_current_and_the_first_is_due_after_its_own_delay()
    {
        Assert.Equal(0, Policy.CurrentLevel(0));
        Assert.Equal(6, Policy.TotalSteps);
        var late = Policy with { Levels = [new EscalationLevel(TimeSpan.FromMinutes(2), ["x"])] };
        Assert.Equal(T0.AddMinutes(2), late.FirstStepAt(T0));
    }
}
