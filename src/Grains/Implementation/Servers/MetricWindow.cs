using Monitoring.Rules.Conditions;

namespace Monitoring.Servers;

/// <summary>
/// A sliding window of one server's telemetry: a ring of time buckets, each with counters and a fixed-size
/// latency histogram. Memory is bounded by the bucket count, never by the request rate. Not thread-safe: a grain owns it.
/// </summary>
public sealed class MetricWindow
{
    public const int BucketsPerWindow = 20;

    private readonly TimeSpan _window;
    private readonly long _bucketTicks;
    private readonly Bucket[] _buckets = new Bucket[BucketsPerWindow];
    private Gauge _connections;
    private Gauge _cpu;
    private Gauge _memory;

    public MetricWindow(TimeSpan window)
    {
        if (window < TimeSpan.FromSeconds(BucketsPerWindow))
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, $"the window must be at least {BucketsPerWindow}s");
        }
        _window = window;
        _bucketTicks = window.Ticks / BucketsPerWindow;
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket { Epoch = long.MinValue };
        }
    }

    public TimeSpan Window => _window;

    public DateTimeOffset? LastRecordedAt { get; private set; }

    /// <summary>Adds one request. Answers false when it is too old for the window (or older than a bucket it would overwrite).</summary>
    public bool Record(DateTimeOffset at, DateTimeOffset now, double durationSeconds, bool success, bool isToolCall)
    {
        var epoch = EpochOf(at > now ? now : at);
        var nowEpoch = EpochOf(now);
        if (epoch <= nowEpoch - BucketsPerWindow)
        {
            return false;
        }
        var bucket = _buckets[Slot(epoch)];
        if (bucket.Epoch > epoch)
        {
            return false;
        }
        if (bucket.Epoch != epoch)
        {
            bucket.Reset(epoch);
        }
        bucket.Add(Math.Max(0, durationSeconds), success, isToolCall);
        if (LastRecordedAt is null || at > LastRecordedAt)
        {
            LastRecordedAt = at > now ? now : at;
        }
        return true;
    }

    public void RecordGauges(GaugeReading gauges, DateTimeOffset at)
    {
        if (gauges.ActiveConnections is { } c) _connections = new Gauge(c, at);
        if (gauges.CpuUsage is { } cpu) _cpu = new Gauge(cpu, at);
        if (gauges.MemoryUsage is { } mem) _memory = new Gauge(mem, at);
        if (LastRecordedAt is null || at > LastRecordedAt) LastRecordedAt = at;
    }

    /// <summary>The seed's performance metrics over the window ending at <paramref name="now"/>.</summary>
    public WindowSnapshot Snapshot(DateTimeOffset now)
    {
        var nowEpoch = EpochOf(now);
        Span<long> histogram = stackalloc long[LatencyHistogram.BucketCount];
        long count = 0, errors = 0, toolCalls = 0, toolErrors = 0;
        double sum = 0, max = 0;
        foreach (var bucket in _buckets)
        {
            if (bucket.Epoch <= nowEpoch - BucketsPerWindow || bucket.Epoch > nowEpoch || bucket.Count == 0)
            {
                continue;
            }
            count += bucket.Count;
            errors += bucket.Errors;
            toolCalls += bucket.ToolCalls;
            toolErrors += bucket.ToolErrors;
            sum += bucket.SumSeconds;
            max = Math.Max(max, bucket.MaxSeconds);
            for (var i = 0; i < histogram.Length; i++)
            {
                histogram[i] += bucket.Histogram![i];
            }
        }

        var windowStart = now - _window;
        return new WindowSnapshot(
            RequestsInWindow: count,
            RequestsPerSecond: count / _window.TotalSeconds,
            AverageResponseTime: count == 0 ? 0 : sum / count,
            P95ResponseTime: LatencyHistogram.Quantile(histogram, count, 0.95, max),
            P99ResponseTime: LatencyHistogram.Quantile(histogram, count, 0.99, max),
            ErrorRate: count == 0 ? 0 : (double)errors / count,
            ToolErrorRate: toolCalls == 0 ? 0 : (double)toolErrors / toolCalls,
            ActiveConnections: _connections.ValueIfAfter(windowStart),
            CpuUsage: _cpu.ValueIfAfter(windowStart),
            MemoryUsage: _memory.ValueIfAfter(windowStart),
            ToolCalls: toolCalls);
    }

    /// <summary>Bytes this window holds when every bucket has data: the bound on a server's telemetry memory.</summary>
    public static int MaxBytes =>
        BucketsPerWindow * (Bucket.ObjectBytes + 24 + LatencyHistogram.BucketCount * sizeof(int)) + 3 * 24 + 64;

    private long EpochOf(DateTimeOffset at) => at.UtcTicks / _bucketTicks;

    private static int Slot(long epoch) => (int)(((epoch % BucketsPerWindow) + BucketsPerWindow) % BucketsPerWindow);

    private readonly record struct Gauge(double Value, DateTimeOffset At)
    {
        public double? ValueIfAfter(DateTimeOffset start) => At > start ? Value : null;
    }

    private sealed class Bucket
    {
        public const int ObjectBytes = 16 + 8 * 8;

        public long Epoch;
        public long Count;
        public long Errors;
        public long ToolCalls;
        public long ToolErrors;
        public double SumSeconds;
        public double MaxSeconds;
        public int[]? Histogram; // int: overflow needs over 2^31 requests in one bucket

        public void Reset(long epoch)
        {
            Epoch = epoch;
            Count = Errors = ToolCalls = ToolErrors = 0;
            SumSeconds = MaxSeconds = 0;
            if (Histogram is not null) Array.Clear(Histogram);
        }

        public void Add(double seconds, bool success, bool isToolCall)
        {
            Histogram ??= new int[LatencyHistogram.BucketCount];
            Count++;
            SumSeconds += seconds;
            MaxSeconds = Math.Max(MaxSeconds, seconds);
            Histogram[LatencyHistogram.BucketOf(seconds)]++;
            if (!success) Errors++;
            if (isToolCall)
            {
                ToolCalls++;
                if (!success) ToolErrors++;
            }
        }
    }
}

/// <summary>Metric values over a window, in seconds and ratios, named as rule conditions name them.</summary>
public sealed record WindowSnapshot(
    long RequestsInWindow,
    double RequestsPerSecond,
    double AverageResponseTime,
    double P95ResponseTime,
    double P99ResponseTime,
    double ErrorRate,
    double ToolErrorRate,
    double? ActiveConnections,
    double? CpuUsage,
    double? MemoryUsage,
    long ToolCalls = 0)
{
    /// <summary>
    /// The metrics this window can tell. With no request in the window the request metrics are absent, not 0, and a
    /// gauge with no reading in the window is absent: a rule over them has no data, which is not recovery.
    /// </summary>
    public void AddTo(Dictionary<string, double> metrics)
    {
        if (RequestsInWindow > 0)
        {
            metrics[MetricNames.RequestsPerSecond] = RequestsPerSecond;
            metrics[MetricNames.AverageResponseTime] = AverageResponseTime;
            metrics[MetricNames.P95ResponseTime] = P95ResponseTime;
            metrics[MetricNames.P99ResponseTime] = P99ResponseTime;
            metrics[MetricNames.ErrorRate] = ErrorRate;
        }
        if (ToolCalls > 0) metrics[MetricNames.ToolErrorRate] = ToolErrorRate;
        if (ActiveConnections is { } connections) metrics[MetricNames.ActiveConnections] = connections;
        if (CpuUsage is { } cpu) metrics[MetricNames.CpuUsage] = cpu;
        if (MemoryUsage is { } memory) metrics[MetricNames.MemoryUsage] = memory;
    }

    public Dictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        AddTo(metrics);
        return metrics;
    }
}
