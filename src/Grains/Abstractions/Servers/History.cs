namespace Monitoring.Servers;

/// <summary>
/// The latency buckets of a server's long-range history: Prometheus' default histogram bounds, in seconds, upper bounds
/// inclusive, and one more bucket above the last. A latency objective's threshold is one of them, as with Sloth and
/// Pyrra, so "under the threshold" is counted exactly rather than interpolated.
/// </summary>
public static class HistoryBuckets
{
    public static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static int Count => Bounds.Length + 1;

    /// <summary>The bucket a duration falls in.</summary>
    public static int Of(double seconds)
    {
        for (var i = 0; i < Bounds.Length; i++)
        {
            if (seconds <= Bounds[i]) return i;
        }
        return Bounds.Length;
    }

    /// <summary>The index of a threshold among the bounds, or -1 when it is not one of them.</summary>
    public static int IndexOfBound(double seconds) => Array.FindIndex(Bounds, b => Math.Abs(b - seconds) < 1e-9);
}

/// <summary>
/// Events summed over a span of a server's history: requests (each in one latency bucket), errors, their total
/// duration, the seconds for which any data arrived, and the probes with how many failed.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.HistoryTotals")]
public sealed record HistoryTotals(
    [property: Id(0), JsonPropertyName("requests")] long Requests,
    [property: Id(1), JsonPropertyName("errors")] long Errors,
    [property: Id(2), JsonPropertyName("buckets")] long[] Buckets,
    [property: Id(3), JsonPropertyName("sumSeconds")] double SumSeconds,
    [property: Id(4), JsonPropertyName("measuredSeconds")] long MeasuredSeconds,
    [property: Id(5), JsonPropertyName("probes")] long Probes,
    [property: Id(6), JsonPropertyName("probeFailures")] long ProbeFailures)
{
    public static readonly HistoryTotals Empty = new(0, 0, new long[HistoryBuckets.Count], 0, 0, 0, 0);

    /// <summary>Requests that took at most the bound at <paramref name="boundIndex"/>.</summary>
    public long AtMost(int boundIndex)
    {
        long sum = 0;
        for (var i = 0; i <= boundIndex && i < Buckets.Length; i++) sum += Buckets[i];
        return sum;
    }

    public HistoryTotals Plus(HistoryTotals other)
    {
        var buckets = new long[HistoryBuckets.Count];
        for (var i = 0; i < buckets.Length; i++) buckets[i] = Bucket(i) + other.Bucket(i);
        return new HistoryTotals(Requests + other.Requests, Errors + other.Errors, buckets, SumSeconds + other.SumSeconds,
            MeasuredSeconds + other.MeasuredSeconds, Probes + other.Probes, ProbeFailures + other.ProbeFailures);
    }

    private long Bucket(int i) => i < Buckets.Length ? Buckets[i] : 0;

    /// <summary>The q-quantile of the latencies, linear inside a bucket as histogram_quantile is; the last bound when above it; null with no requests.</summary>
    public double? Quantile(double q)
    {
        if (Requests <= 0) return null;
        var rank = q * Requests;
        long cumulative = 0;
        for (var i = 0; i < Buckets.Length; i++)
        {
            if (Buckets[i] == 0) continue;
            if (cumulative + Buckets[i] >= rank)
            {
                if (i >= HistoryBuckets.Bounds.Length) return HistoryBuckets.Bounds[^1];
                var lower = i == 0 ? 0 : HistoryBuckets.Bounds[i - 1];
                return lower + (HistoryBuckets.Bounds[i] - lower) * ((rank - cumulative) / Buckets[i]);
            }
            cumulative += Buckets[i];
        }
        return HistoryBuckets.Bounds[^1];
    }
}

/// <summary>One hour of a server's history, for the chart on its page.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HistoryPoint")]
public sealed record HistoryPoint(
    [property: Id(0), JsonPropertyName("at")] DateTimeOffset At,
    [property: Id(1), JsonPropertyName("requests")] long Requests,
    [property: Id(2), JsonPropertyName("errors")] long Errors,
    [property: Id(3), JsonPropertyName("p95Seconds")] double? P95Seconds,
    [property: Id(4), JsonPropertyName("measuredSeconds")] long MeasuredSeconds);

/// <summary>
/// The seed's performance summary of one server over a window (24h, 7d or 30d): requests, error rate, average, p95 and
/// p99, availability as the probes measured it, how much of the window had data at all, and the hours for a chart.
/// Figures are null where nothing was measured: no data is not a good figure.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerHistorySummary")]
public sealed record ServerHistorySummary(
    [property: Id(0), JsonPropertyName("window")] TimeSpan Window,
    [property: Id(1), JsonPropertyName("from")] DateTimeOffset From,
    [property: Id(2), JsonPropertyName("to")] DateTimeOffset To,
    [property: Id(3), JsonPropertyName("totals")] HistoryTotals Totals,
    [property: Id(4), JsonPropertyName("hours")] HistoryPoint[] Hours,
    [property: Id(5), JsonPropertyName("tools")] ToolMinuteTotals[] Tools);

/// <summary>A tool's last hour, from its minute ring: the busiest tools by name, the rest as "(other)".</summary>
[GenerateSerializer, Immutable, Alias("mcp.ToolMinuteTotals")]
public sealed record ToolMinuteTotals(
    [property: Id(0), JsonPropertyName("tool")] string Tool,
    [property: Id(1), JsonPropertyName("totals")] HistoryTotals Totals);

/// <summary>What an objective asks a server for: its totals over each window (and the objective's own), for one tool or all.</summary>
[GenerateSerializer, Immutable, Alias("mcp.TotalsQuery")]
public sealed record TotalsQuery(
    [property: Id(0)] TimeSpan[] Windows,
    [property: Id(1)] string? Tool);

/// <summary>A server's answer to a <see cref="TotalsQuery"/>: totals per window, in order, and since when it has history.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HistoryAnswer")]
public sealed record HistoryAnswer(
    [property: Id(0)] HistoryTotals[] Totals,
    [property: Id(1)] DateTimeOffset? Since);
