using Monitoring.Alerts;
using Monitoring.Rules;

namespace Monitoring.Tests.Alerts;

/// <summary>What condition an observation tells an alert (<see cref="AlertJournal.ConditionOf"/>), as a table without a cluster.</summary>
public sealed class AlertConditionTests
{
    public static TheoryData<string, ConditionResult, int?, int?, string?, ConditionResult> ConditionRows => new()
    {
        // case, told, restored data clear through (seconds after T0), pending since / fired at (seconds after T0) → what the alert takes
        { "clear data is clear", ConditionResult.Clear, null, 0, "firing", ConditionResult.Clear },
        { "no data without a restored window", ConditionResult.NoData, null, 0, "firing", ConditionResult.NoData },
        { "restored data after the breach is recovery", ConditionResult.NoData, 60, 0, "firing", ConditionResult.Clear },
        { "after a pending alert's start too", ConditionResult.NoData, 60, 0, "pending", ConditionResult.Clear },
        { "restored data within the clocks' margin is not", ConditionResult.NoData, 1, 0, "firing", ConditionResult.NoData },
        { "restored data from before the breach is not", ConditionResult.NoData, -30, 0, "firing", ConditionResult.NoData },
        { "a closed alert has nothing to recover", ConditionResult.NoData, 60, null, null, ConditionResult.NoData },
        { "holds stays holds", ConditionResult.Holds, 60, 0, "firing", ConditionResult.Holds },
    };

    [Theory]
    [MemberData(nameof(ConditionRows))]
    public void Restored_clear_data_counts_as_recovery_only_after_the_alert_began(string @case, ConditionResult told, int? clearThrough, int? began, string? phase, ConditionResult expected)
    {
        _ = @case;
        var t0 = new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
        var rule = new AlertRule("r", "High error rate", "error_rate > 0.05", TimeSpan.Zero, Monitoring.Common.Severity.Critical, ["c"], "m", TimeSpan.FromMinutes(30), null, [], true, true, new(), t0);
        var observation = new Observation(rule, new ServerSummary("s1", "Search", "http://x", []), told, [])
        {
            RestoredClearThrough = clearThrough is { } c ? t0.AddSeconds(c) : null,
        };
        var life = phase switch
        {
            "firing" => new AlertLife { Phase = AlertPhase.Firing, FiredAt = t0.AddSeconds(began!.Value) },
            "pending" => new AlertLife { Phase = AlertPhase.Pending, PendingSince = t0.AddSeconds(began!.Value) },
            _ => new AlertLife { Phase = AlertPhase.Resolved },
        };

        Assert.Equal(expected, AlertJournal.ConditionOf(observation, life));
    }
}
