using Monitoring.External;

namespace Monitoring.OnCall;

/// <summary>
/// The alert a schedule raises when it has nobody on call in the next 7 days: an ordinary alert (alertname
/// <c>OnCallScheduleGap</c>, labels <c>schedule</c> and <c>severity=warning</c>), said as <see cref="SaidAlert"/> says.
/// </summary>
public static class GapWatch
{
    public const string AlertName = "OnCallScheduleGap";
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(7);

    public static Dictionary<string, string> Labels(string scheduleId) => new(StringComparer.Ordinal)
    {
        ["alertname"] = AlertName,
        ["schedule"] = scheduleId,
        ["severity"] = "warning",
    };

    /// <summary>What to post now, if anything, given the gaps ahead and what was last posted.</summary>
    public static (PostedAlert? Post, DateTimeOffset? FiringSince, DateTimeOffset? SaidAt) Decide(
        string scheduleId, string name, IReadOnlyList<Shift> gaps, DateTimeOffset? firingSince, DateTimeOffset? saidAt, DateTimeOffset now) =>
        SaidAlert.Decide(Labels(scheduleId), Annotations(name, gaps), gaps.Count > 0, firingSince, saidAt, now);
    private static Dictionary<string, string> Annotations(string name, IReadOnlyList<Shift> gaps)
    {
        if (gaps.Count == 0) return new() { ["summary"] = $"Schedule {name} has someone on call for the next 7 days" };
        var total = TimeSpan.FromTicks(gaps.Sum(g => (g.End - g.Start).Ticks));
        return new()
        {
            ["summary"] = $"Schedule {name} has nobody on call for {Common.Durations.Format(total)} in the next 7 days, first from {gaps[0].Start:u} to {gaps[0].End:u}",
            ["gaps"] = string.Join("; ", gaps.Take(10).Select(g => $"{g.Start:u} to {g.End:u}")),
        };
    }
}
