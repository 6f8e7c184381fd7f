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

    /// <summary>While a batch runs: each series' point before the batch first moved it (null: the series was new).</summary>
    private Dictionary<string, RequestAggregate?>? _before;

    /// <summary>Starts a batch that <see cref="Rollback"/> takes back whole (a push refused with "send it again").</summary>
    public void Begin() => (_before ??= new(StringComparer.Ordinal)).Clear();

    public void Commit() => _before?.Clear();

    /// <summary>Puts every series the batch moved back where it was, so the resent points count again.</summary>
    public void Rollback()
    {
        if (_before is null) return;
        foreach (var (key, point) in _before)
        {
            if (point is null) _last.Remove(key);
            else _last[key] = point;
        }
        _before.Clear();
    }

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
        _before?.TryAdd(key, previous);
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
