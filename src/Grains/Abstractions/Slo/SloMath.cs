using Monitoring.Servers;

namespace Monitoring.Slo;

/// <summary>
/// An objective's arithmetic, pure: good and all events from a server's totals, the indicator, the error budget left,
/// burn rates, and which of the Workbook's conditions hold. Figures come from summed events (never from averaged
/// ratios), and a window with fewer than the objective's minimum events has no burn rate: not zero, not infinite.
/// </summary>
public static class SloMath
{
    /// <summary>The windows burn rates are read over, as the Workbook names them.</summary>
    public static readonly TimeSpan[] BurnWindows =
        [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(6), TimeSpan.FromDays(1), TimeSpan.FromDays(3)];

    public static readonly string[] BurnWindowNames = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

    /// <summary>What a server is asked for: the objective's window first, then each burn window.</summary>
    public static TotalsQuery Query(SloDefinition slo) => new([slo.Window, .. BurnWindows], slo.Tool);

    /// <summary>The conditions, in the order they are tried: the page's (fast first), then the ticket's.</summary>
    public static BurnCondition[] Conditions(SloDefinition slo) =>
    [
        new("page", TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), slo.PageFactors[0]),
        new("page", TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), slo.PageFactors[1]),
        new("ticket", TimeSpan.FromDays(1), TimeSpan.FromHours(2), slo.TicketFactors[0]),
        new("ticket", TimeSpan.FromDays(3), TimeSpan.FromHours(6), slo.TicketFactors[1]),
    ];

    /// <summary>Good and all events in <paramref name="totals"/> by the objective's indicator; good is never more than all, nor below 0.</summary>
    public static (long Good, long Events) Events(SloDefinition slo, HistoryTotals totals)
    {
        var (good, events) = slo.Indicator switch
        {
            SloIndicator.Availability => (totals.Requests - totals.Errors, totals.Requests),
            SloIndicator.Latency => (totals.AtMost(HistoryBuckets.IndexOfBound(slo.LatencyThreshold ?? 0)), totals.Requests),
            SloIndicator.Probe => (totals.Probes - totals.ProbeFailures, totals.Probes),
            _ => (0L, 0L),
        };
        events = Math.Max(0, events);
        return (Math.Clamp(good, 0, events), events);
    }

    /// <summary>
    /// Reads the objective from a server's answer to <see cref="Query"/> (its totals: the objective's window, then each
    /// burn window).
    /// </summary>
    public static SloReading Read(SloDefinition slo, HistoryAnswer answer)
    {
        var (good, events) = Events(slo, answer.Totals[0]);
        double? sli = events > 0 ? (double)good / events : null;
        double? remaining = events > 0 ? 1 - (1 - sli!.Value) / slo.Budget : null;
        var burns = new double?[BurnWindows.Length];
        for (var i = 0; i < BurnWindows.Length; i++)
        {
            var (g, e) = Events(slo, answer.Totals[i + 1]);
            burns[i] = e >= Math.Max(1, slo.MinEvents) ? (double)(e - g) / e / slo.Budget : null;
        }
        BurnCondition? page = null, ticket = null;
        foreach (var condition in Conditions(slo))
        {
            if (!Holds(condition, burns)) continue;
            if (condition.Urgency == "page") page ??= condition;
            else ticket ??= condition;
        }
        return new SloReading(events, good, sli, remaining, burns, page, ticket, answer.Totals[0].MeasuredSeconds, answer.Since);
    }

    /// <summary>Both windows of the condition burn faster than its factor (an undefined burn rate never holds).</summary>
    public static bool Holds(BurnCondition condition, double?[] burns) =>
        burns[Array.IndexOf(BurnWindows, condition.Long)] is { } l && l > condition.Factor
        && burns[Array.IndexOf(BurnWindows, condition.Short)] is { } s && s > condition.Factor;

    /// <summary>The set's answer: every server's totals summed window by window, and the earliest history.</summary>
    public static HistoryAnswer Sum(IReadOnlyCollection<HistoryAnswer> answers, int windows)
    {
        var totals = Enumerable.Repeat(HistoryTotals.Empty, windows).ToArray();
        DateTimeOffset? since = null;
        foreach (var answer in answers)
        {
            for (var i = 0; i < windows; i++) totals[i] = totals[i].Plus(answer.Totals[i]);
            if (answer.Since is { } s && (since is null || s < since)) since = s;
        }
        return new HistoryAnswer(totals, since);
    }

    public static string NameOf(TimeSpan window) => BurnWindowNames[Array.IndexOf(BurnWindows, window)];
}
