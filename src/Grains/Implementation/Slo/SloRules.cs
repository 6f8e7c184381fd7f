using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Slo;

/// <summary>What makes an objective right, checked where it is stored (the API checks the shape of the request first).</summary>
public static class SloRules
{
    public static readonly TimeSpan[] Windows = [TimeSpan.FromDays(28), TimeSpan.FromDays(30)];

    public static FieldError[] Check(SloDefinition slo)
    {
        var errors = new List<FieldError>();
        if (!(slo.Objective > 0 && slo.Objective < 100)) errors.Add(new("objective", $"{slo.Objective} is not a percentage between 0 and 100 (exclusive), such as 99.5"));
        if (!Windows.Contains(slo.Window)) errors.Add(new("window", $"'{Durations.Format(slo.Window)}' is not one of 28d, 30d: the rolling windows the Workbook's burn-rate factors are made for"));
        if (slo.Indicator == SloIndicator.Latency && (slo.LatencyThreshold is not { } t || HistoryBuckets.IndexOfBound(t) < 0))
        {
            errors.Add(new("latencyThreshold", $"is required for a latency objective and is one of the history's bounds: {string.Join(", ", HistoryBuckets.Bounds.Select(b => Durations.Format(TimeSpan.FromSeconds(b))))}"));
        }
        if (slo.Indicator != SloIndicator.Latency && slo.LatencyThreshold is not null) errors.Add(new("latencyThreshold", "is only for a latency objective"));
        if (slo.Indicator == SloIndicator.Probe && slo.Tool is not null) errors.Add(new("tool", "a probe objective counts probes, which call no tool"));
        Factors(slo.PageFactors, "pageFactors", errors);
        Factors(slo.TicketFactors, "ticketFactors", errors);
        if (slo.MinEvents is < 0 or > 1_000_000) errors.Add(new("minEvents", $"{slo.MinEvents} is not between 0 and 1000000"));
        return [.. errors];
    }

    private static void Factors(double[] factors, string field, List<FieldError> errors)
    {
        if (factors.Length != 2 || factors.Any(f => !(f > 0 && f <= 1000))) errors.Add(new(field, "are two burn-rate factors above 0 and at most 1000, for the fast pair of windows and the slow"));
    }
}
