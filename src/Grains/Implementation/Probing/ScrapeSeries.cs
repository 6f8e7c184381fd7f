using Monitoring.Rules.Conditions;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>
/// Scrapes of one server over the metric window, as counters adjusted for resets (Prometheus' rule: a counter that goes
/// down restarted from zero), so rates over the window never go negative when the server restarts.
/// Rates and quantiles compare the oldest and newest scrape in the window, like <c>rate(x[5m])</c> and
/// <c>histogram_quantile(q, rate(x_bucket[5m]))</c>.
/// </summary>
public sealed class ScrapeSeries(TimeSpan window)
{
    private const int MaxPoints = 256;
    private readonly LinkedList<Point> _points = new();
    private ScrapedCounters? _lastRaw;
    private Point? _adjusted;

    public int Count => _points.Count;

    public void Add(DateTimeOffset at, ScrapedCounters raw)
    {
        var previous = _lastRaw;
        var adjusted = _adjusted is { } a && previous is not null
            ? a.Advance(at, previous, raw)
            : Point.Start(at, raw);
        _lastRaw = raw;
        _adjusted = adjusted;
        if (adjusted.BucketLayoutChanged)
        {
            // A different bucket layout (the server was redeployed) makes older histogram points incomparable.
            _points.Clear();
        }
        _points.AddLast(adjusted);
        while (_points.Count > MaxPoints || (_points.Count > 2 && _points.First!.Value.At < at - window))
        {
            _points.RemoveFirst();
        }
    }

    /// <summary>Adds the scraped metrics that the series supports to <paramref name="metrics"/>.</summary>
    public void AddMetrics(DateTimeOffset now, Dictionary<string, double> metrics)
    {
        if (_points.Last is not { } last || last.Value.At < now - window)
        {
            return;
        }
        var newest = last.Value;
        var raw = _lastRaw!;
        if (raw.ActiveConnections is { } connections) metrics[MetricNames.ActiveConnections] = connections;
        if (raw.CpuUsagePercent is { } cpu) metrics[MetricNames.CpuUsage] = cpu;
        if (raw.MemoryUsageBytes is { } memory) metrics[MetricNames.MemoryUsageBytes] = memory;

        var oldest = _points.First!.Value;
        var seconds = (newest.At - oldest.At).TotalSeconds;
        if (_points.Count < 2 || seconds <= 0)
        {
            return;
        }
        var requests = newest.Requests - oldest.Requests;
        metrics[MetricNames.RequestsPerSecond] = requests / seconds;
        metrics[MetricNames.ErrorRate] = requests > 0 ? Math.Clamp((newest.RequestErrors - oldest.RequestErrors) / requests, 0, 1) : 0;
        var toolCalls = newest.ToolExecutions - oldest.ToolExecutions;
        metrics[MetricNames.ToolErrorRate] = toolCalls > 0 ? Math.Clamp((newest.ToolErrors - oldest.ToolErrors) / toolCalls, 0, 1) : 0;

        var observations = newest.DurationCount - oldest.DurationCount;
        if (raw.DurationFamily is not null && observations > 0)
        {
            metrics[MetricNames.AverageResponseTime] = (newest.DurationSum - oldest.DurationSum) / observations;
            var deltas = new double[newest.Buckets.Length];
            for (var i = 0; i < deltas.Length; i++)
            {
                deltas[i] = newest.Buckets[i] - (i < oldest.Buckets.Length ? oldest.Buckets[i] : 0);
            }
            metrics[MetricNames.P95ResponseTime] = HistogramQuantile(0.95, newest.Bounds, deltas);
            metrics[MetricNames.P99ResponseTime] = HistogramQuantile(0.99, newest.Bounds, deltas);
        }
    }

    /// <summary>
    /// Prometheus' <c>histogram_quantile</c>: find the bucket holding the rank and interpolate linearly inside it.
    /// A rank in the +Inf bucket answers the highest finite bound. Counts are cumulative, bounds ascending.
    /// </summary>
    public static double HistogramQuantile(double q, double[] bounds, double[] cumulative)
    {
        if (bounds.Length == 0 || bounds.Length != cumulative.Length || !double.IsPositiveInfinity(bounds[^1]))
        {
            return double.NaN;
        }
        var total = cumulative[^1];
        if (total <= 0)
        {
            return double.NaN;
        }
        var rank = q * total;
        var index = 0;
        while (index < cumulative.Length - 1 && cumulative[index] < rank)
        {
            index++;
        }
        if (index == bounds.Length - 1)
        {
            return bounds.Length >= 2 ? bounds[^2] : double.NaN;
        }
        var upper = bounds[index];
        var lower = index == 0 ? Math.Min(0, upper) : bounds[index - 1];
        var below = index == 0 ? 0 : cumulative[index - 1];
        var inBucket = cumulative[index] - below;
        if (inBucket <= 0)
        {
            return upper;
        }
        return lower + (upper - lower) * ((rank - below) / inBucket);
    }

    private sealed record Point(
        DateTimeOffset At,
        double Requests,
        double RequestErrors,
        double ToolExecutions,
        double ToolErrors,
        double DurationSum,
        double DurationCount,
        double[] Bounds,
        double[] Buckets,
        bool BucketLayoutChanged)
    {
        public static Point Start(DateTimeOffset at, ScrapedCounters raw) => new(
            at, raw.Requests ?? 0, raw.RequestErrors ?? 0, raw.ToolExecutions ?? 0, raw.ToolErrors ?? 0,
            raw.DurationSum ?? 0, raw.DurationCount ?? 0, raw.BucketBounds, [.. raw.BucketCounts], false);

        /// <summary>Adds what happened since the previous scrape; a counter below its previous value restarted at zero.</summary>
        public Point Advance(DateTimeOffset at, ScrapedCounters previous, ScrapedCounters raw)
        {
            // A histogram appearing for the first time (no observations before) counts from zero; a different layout is a redeploy.
            var appeared = Bounds.Length == 0 && raw.BucketBounds.Length > 0;
            var layoutChanged = !appeared && !Bounds.AsSpan().SequenceEqual(raw.BucketBounds);
            double[] buckets;
            if (layoutChanged || appeared)
            {
                buckets = [.. raw.BucketCounts];
            }
            else
            {
                // The histogram restarted if its total went down; then every bucket counts from zero.
                var reset = raw.BucketCounts.Length > 0 && raw.BucketCounts[^1] < previous.BucketCounts[^1];
                buckets = new double[Buckets.Length];
                for (var i = 0; i < buckets.Length; i++)
                {
                    var now = raw.BucketCounts[i];
                    buckets[i] = Buckets[i] + (reset ? now : Math.Max(0, now - previous.BucketCounts[i]));
                }
            }
            var histogramReset = (raw.DurationCount ?? 0) < (previous.DurationCount ?? 0);
            return new Point(
                at,
                Requests + Delta(previous.Requests, raw.Requests),
                RequestErrors + Delta(previous.RequestErrors, raw.RequestErrors),
                ToolExecutions + Delta(previous.ToolExecutions, raw.ToolExecutions),
                ToolErrors + Delta(previous.ToolErrors, raw.ToolErrors),
                DurationSum + (histogramReset ? raw.DurationSum ?? 0 : Math.Max(0, (raw.DurationSum ?? 0) - (previous.DurationSum ?? 0))),
                DurationCount + Delta(previous.DurationCount, raw.DurationCount),
                raw.BucketBounds,
                buckets,
                layoutChanged);
        }

        private static double Delta(double? previous, double? current)
        {
            var now = current ?? 0;
            var before = previous ?? 0;
            return now >= before ? now - before : now;
        }
    }
}
