namespace Monitoring.Servers;

/// <summary>
/// Turns OTLP points into the requests each adds. A delta point is itself. A cumulative point counts since its series
/// started, so it adds the difference from the series' previous point. The first point of a series (or the first after
/// the sender restarted: a new start, a smaller count, other buckets) counts whole only when the series started inside
/// the window; otherwise it is only a baseline, because what it counts happened at unknown times. Held in memory by the
/// server's activation: after the server moves, each series begins again from a baseline.
/// </summary>
public sealed class CumulativeSeries
{
    public const int MaxSeries = 256;
    private readonly Dictionary<string, RequestAggregate> _last = new(StringComparer.Ordinal);

    /// <summary>
    /// The requests the point adds; null when it adds nothing (a baseline, or older than the series' last point); a
    /// count of -1 when a new series would pass <see cref="MaxSeries"/> (dropped).
    /// </summary>
    public RequestAggregate? ToDelta(RequestAggregate point, DateTimeOffset now, TimeSpan window)
    {
        if (!point.Cumulative) return point;
        var key = point.SeriesKey;
        if (!_last.TryGetValue(key, out var previous) && _last.Count >= MaxSeries) return point with { Count = -1 };
        if (previous is not null && point.At < previous.At) return null;
        _last[key] = point;
        var continues = previous is not null && previous.Start == point.Start && point.Count >= previous.Count
            && previous.BoundsSeconds.AsSpan().SequenceEqual(point.BoundsSeconds) && previous.BucketCounts.Length == point.BucketCounts.Length;
        if (continues)
        {
            var counts = new long[point.BucketCounts.Length];
            for (var i = 0; i < counts.Length; i++) counts[i] = Math.Max(0, point.BucketCounts[i] - previous!.BucketCounts[i]);
            return point with { Count = point.Count - previous!.Count, SumSeconds = point.SumSeconds - previous.SumSeconds, BucketCounts = counts };
        }
        return point.Start > now - window ? point : null;
    }
}
