using Monitoring.Rules.Conditions;

namespace Monitoring.Servers;

/// <summary>
/// A sliding window of one server's telemetry, in bounded memory whatever the request rate. Counters (requests,
/// errors, tool calls, latency sum and max) live in 20 time buckets (15 s each at 5 minutes), so rates slide in 15 s
/// steps. Latency histograms live in 6 slices of a fifth of the window (1 minute each at 5 minutes): percentiles are
/// read over the slices that overlap the window, 5 to 6 minutes of data at 5 minutes. A slice keeps counts only for the
/// span of latency buckets it has seen (growing when a request falls outside it), so a server whose latencies stay
/// within, say, 10 to 400 ms holds about 40 of the 172 counts a slice: a full window of such traffic is about 1.9 KB,
/// and one whose latencies cover every bucket is at most <see cref="MaxBytes"/>. Percentiles are the same either way.
/// Not thread-safe: a grain owns it.
/// </summary>
public sealed class MetricWindow
{
    public const int BucketsPerWindow = 20;
    public const int SlicesPerWindow = 5;
    private const int Slices = SlicesPerWindow + 1;

    private readonly TimeSpan _window;
    private readonly long _bucketTicks;
    private readonly long _sliceTicks;
    private readonly Bucket[] _buckets = new Bucket[BucketsPerWindow];
    private readonly Slice[] _slices = new Slice[Slices];
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
        _sliceTicks = window.Ticks / SlicesPerWindow;
        for (var i = 0; i < _buckets.Length; i++) _buckets[i].Epoch = long.MinValue;
        for (var i = 0; i < _slices.Length; i++) _slices[i] = new Slice { Epoch = long.MinValue };
    }

    public TimeSpan Window => _window;

    public DateTimeOffset? LastRecordedAt { get; private set; }

    /// <summary>Whether anything changed since the last <see cref="Export"/>: the snapshot written behind is then stale.</summary>
    public bool Changed { get; private set; }

    /// <summary>The snapshot <see cref="Export"/> made was not stored: the window counts as changed until one is.</summary>
    public void ExportLost() => Changed = true;

    /// <summary>Adds one request. Answers false when it is too old for the window (or older than a bucket it would overwrite).</summary>
    public bool Record(DateTimeOffset at, DateTimeOffset now, double durationSeconds, bool success, bool isToolCall)
    {
        if (at > now) at = now;
        var epoch = at.UtcTicks / _bucketTicks;
        if (epoch <= now.UtcTicks / _bucketTicks - BucketsPerWindow)
        {
            return false;
        }
        var index = Ring(epoch, BucketsPerWindow);
        ref var bucket = ref _buckets[index];
        if (bucket.Epoch > epoch)
        {
            return false;
        }
        _batch?.Keep(index, bucket);
        if (bucket.Epoch != epoch)
        {
            bucket.Reset(epoch);
        }
        var seconds = Math.Max(0, durationSeconds);
        bucket.Add(seconds, success, isToolCall);
        var sliceEpoch = at.UtcTicks / _sliceTicks;
        var sliceIndex = Ring(sliceEpoch, Slices);
        var slice = _slices[sliceIndex];
        _batch?.Keep(sliceIndex, slice);
        if (slice.Epoch < sliceEpoch) slice.Reset(sliceEpoch);
        if (slice.Epoch == sliceEpoch) slice.Add(seconds);
        if (LastRecordedAt is null || at > LastRecordedAt)
        {
            LastRecordedAt = at;
        }
        Changed = true;
        return true;
    }

    /// <summary>
    /// Adds many requests summed up by the sender: how many, whether they failed, their total duration and their
    /// distribution over explicit bucket bounds in seconds (upper bounds inclusive; one more count than bounds).
    /// Each bucket's requests spread evenly over the window's own histogram buckets between its bounds, clamped to
    /// the smallest and largest duration when known, so a percentile read here is as exact as the sender's bounds
    /// allow (linear inside a bucket, as Prometheus's histogram_quantile). Answers false when too old for the window.
    /// </summary>
    public bool RecordMany(DateTimeOffset at, DateTimeOffset now, long count, bool success, bool isToolCall, double sumSeconds,
        ReadOnlySpan<double> bounds, ReadOnlySpan<long> counts, double? minSeconds, double? maxSeconds)
    {
        if (count <= 0) return true;
        if (at > now) at = now;
        var epoch = at.UtcTicks / _bucketTicks;
        if (epoch <= now.UtcTicks / _bucketTicks - BucketsPerWindow) return false;
        var index = Ring(epoch, BucketsPerWindow);
        ref var bucket = ref _buckets[index];
        if (bucket.Epoch > epoch) return false;
        _batch?.Keep(index, bucket);
        if (bucket.Epoch != epoch) bucket.Reset(epoch);
        bucket.AddMany(count, Math.Max(0, sumSeconds), success, isToolCall);
        var sliceEpoch = at.UtcTicks / _sliceTicks;
        var sliceIndex = Ring(sliceEpoch, Slices);
        var slice = _slices[sliceIndex];
        _batch?.Keep(sliceIndex, slice);
        if (slice.Epoch < sliceEpoch) slice.Reset(sliceEpoch);
        if (slice.Epoch == sliceEpoch)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] <= 0) continue;
                var lower = i == 0 ? 0 : bounds[i - 1];
                var upper = i < bounds.Length ? bounds[i] : maxSeconds ?? lower;
                if (minSeconds is { } min) (lower, upper) = (Math.Max(lower, min), Math.Max(upper, min));
                if (maxSeconds is { } max) (lower, upper) = (Math.Min(lower, max), Math.Min(upper, max));
                slice.AddSpread(Math.Max(0, lower), Math.Max(0, upper), counts[i]);
            }
        }
        if (LastRecordedAt is null || at > LastRecordedAt) LastRecordedAt = at;
        Changed = true;
        return true;
    }

    public void RecordGauges(GaugeReading gauges, DateTimeOffset at)
    {
        _batch?.KeepGauges(this);
        if (gauges.ActiveConnections is { } c) _connections = new Gauge(c, at);
        if (gauges.CpuUsage is { } cpu) _cpu = new Gauge(cpu, at);
        if (gauges.MemoryUsage is { } mem) _memory = new Gauge(mem, at);
        if (LastRecordedAt is null || at > LastRecordedAt) LastRecordedAt = at;
        Changed = true;
    }

    private Batch? _batch;
    private Batch? _spareBatch;

    /// <summary>
    /// Starts a batch: what is recorded from now until <see cref="Commit"/> can be taken back whole by
    /// <see cref="Rollback"/>, as if it had never arrived. A push refused with "send it again" must leave nothing
    /// behind, or its resend would count its requests twice (and keep an alert firing that the data says is over).
    /// The batch keeps the state of each bucket and slice before its first change, in buffers reused from batch to batch.
    /// </summary>
    public void Begin()
    {
        _batch = _spareBatch ?? new Batch();
        _spareBatch = null;
        _batch.Start(this);
    }

    /// <summary>What the batch recorded stays.</summary>
    public void Commit()
    {
        if (_batch is null) return;
        _spareBatch = _batch;
        _batch = null;
    }

    /// <summary>What the batch recorded is taken back: every bucket, slice and gauge as it was at <see cref="Begin"/>.</summary>
    public void Rollback()
    {
        if (_batch is not { } batch) return;
        batch.Restore(this);
        // A snapshot written behind meanwhile may hold what was taken back: the next write replaces it.
        Changed = true;
        Commit();
    }

    /// <summary>The state a batch changed, as it was before its first change.</summary>
    private sealed class Batch
    {
        private readonly Bucket[] _buckets = new Bucket[BucketsPerWindow];
        private readonly bool[] _bucketKept = new bool[BucketsPerWindow];
        private readonly (long Epoch, double MaxSeconds, int First, int[]? Counts, int Length)[] _slices = new (long, double, int, int[]?, int)[Slices];
        private readonly bool[] _sliceKept = new bool[Slices];
        private readonly int[]?[] _buffers = new int[]?[Slices];
        private (Gauge Connections, Gauge Cpu, Gauge Memory)? _gauges;
        private DateTimeOffset? _lastRecordedAt;

        public void Start(MetricWindow window)
        {
            Array.Clear(_bucketKept);
            Array.Clear(_sliceKept);
            _gauges = null;
            _lastRecordedAt = window.LastRecordedAt;
        }

        public void Keep(int index, Bucket bucket)
        {
            if (_bucketKept[index]) return;
            _bucketKept[index] = true;
            _buckets[index] = bucket;
        }

        public void Keep(int index, Slice slice)
        {
            if (_sliceKept[index]) return;
            _sliceKept[index] = true;
            var (first, counts) = slice.Counts;
            int[]? copy = null;
            if (slice.HasCounts)
            {
                copy = _buffers[index] is { } buffer && buffer.Length >= counts.Length ? buffer : _buffers[index] = new int[counts.Length];
                Array.Copy(counts, copy, counts.Length);
            }
            _slices[index] = (slice.Epoch, slice.MaxSeconds, first, copy, counts.Length);
        }

        public void KeepGauges(MetricWindow window) => _gauges ??= (window._connections, window._cpu, window._memory);

        public void Restore(MetricWindow window)
        {
            for (var i = 0; i < _bucketKept.Length; i++)
            {
                if (_bucketKept[i]) window._buckets[i] = _buckets[i];
            }
            for (var i = 0; i < _sliceKept.Length; i++)
            {
                if (!_sliceKept[i]) continue;
                var (epoch, max, first, counts, length) = _slices[i];
                window._slices[i].Put(epoch, max, first, counts, length);
            }
            if (_gauges is { } g) (window._connections, window._cpu, window._memory) = g;
            window.LastRecordedAt = _lastRecordedAt;
        }
    }

    /// <summary>The seed's performance metrics over the window ending at <paramref name="now"/>.</summary>
    public WindowSnapshot Snapshot(DateTimeOffset now)
    {
        var nowEpoch = now.UtcTicks / _bucketTicks;
        long count = 0, errors = 0, toolCalls = 0, toolErrors = 0;
        double sum = 0;
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
        }

        Span<long> histogram = stackalloc long[LatencyHistogram.BucketCount];
        long observed = 0;
        double max = 0;
        var nowSlice = now.UtcTicks / _sliceTicks;
        foreach (var slice in _slices)
        {
            if (slice.Epoch <= nowSlice - Slices || slice.Epoch > nowSlice || !slice.HasCounts)
            {
                continue;
            }
            max = Math.Max(max, slice.MaxSeconds);
            observed += slice.AddTo(histogram);
        }

        var windowStart = now - _window;
        return new WindowSnapshot(
            RequestsInWindow: count,
            RequestsPerSecond: count / _window.TotalSeconds,
            AverageResponseTime: count == 0 ? 0 : sum / count,
            P95ResponseTime: LatencyHistogram.Quantile(histogram, observed, 0.95, max),
            P99ResponseTime: LatencyHistogram.Quantile(histogram, observed, 0.99, max),
            ErrorRate: count == 0 ? 0 : (double)errors / count,
            ToolErrorRate: toolCalls == 0 ? 0 : (double)toolErrors / toolCalls,
            ActiveConnections: _connections.ValueIfAfter(windowStart),
            CpuUsage: _cpu.ValueIfAfter(windowStart),
            MemoryUsage: _memory.ValueIfAfter(windowStart),
            ToolCalls: toolCalls);
    }

    /// <summary>The window bucket by bucket, oldest first: requests, errors and mean latency per 15 s step (for a chart).</summary>
    public WindowPoint[] Series(DateTimeOffset now)
    {
        var nowEpoch = now.UtcTicks / _bucketTicks;
        var points = new WindowPoint[BucketsPerWindow];
        for (var i = 0; i < BucketsPerWindow; i++)
        {
            var epoch = nowEpoch - BucketsPerWindow + 1 + i;
            ref readonly var bucket = ref _buckets[Ring(epoch, BucketsPerWindow)];
            var at = new DateTimeOffset(epoch * _bucketTicks, TimeSpan.Zero);
            points[i] = bucket.Epoch == epoch && bucket.Count > 0
                ? new WindowPoint(at, bucket.Count, bucket.Errors, bucket.SumSeconds / bucket.Count)
                : new WindowPoint(at, 0, 0, 0);
        }
        return points;
    }

    /// <summary>Bytes this window holds when every bucket and slice has data: the bound on a server's telemetry memory.</summary>
    public static int MaxBytes => WindowBytes(LatencyHistogram.BucketCount * Slices);

    /// <summary>Bytes this window holds now: its fixed part and the latency counts its slices keep.</summary>
    public int Bytes => WindowBytes(_slices.Sum(s => s.Capacity));

    private static int WindowBytes(int counts) =>
        96 + 24 + BucketsPerWindow * Bucket.Bytes + 32 + Slices * (8 + Slice.ObjectBytes) + Slices * 24 + counts * sizeof(int);

    /// <summary>
    /// A compact copy of what the window holds at <paramref name="now"/> (what has aged out is left out), to write
    /// behind and restore after a restart: varints, and only the histogram counts that are not zero. A full window of
    /// spread latencies is about 2 KB; a typical one a few hundred bytes.
    /// </summary>
    public byte[] Export(DateTimeOffset now)
    {
        Changed = false;
        var nowEpoch = now.UtcTicks / _bucketTicks;
        var nowSlice = now.UtcTicks / _sliceTicks;
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write((byte)1);
        w.Write(_bucketTicks);
        w.Write(LastRecordedAt?.UtcTicks ?? 0);
        foreach (var gauge in new[] { _connections, _cpu, _memory })
        {
            w.Write(gauge.At.UtcTicks);
            w.Write(gauge.Value);
        }
        var buckets = _buckets.Where(b => b.Epoch > nowEpoch - BucketsPerWindow && b.Epoch <= nowEpoch && b.Count > 0).ToList();
        w.Write7BitEncodedInt(buckets.Count);
        foreach (var b in buckets)
        {
            w.Write7BitEncodedInt64(b.Epoch);
            w.Write7BitEncodedInt64(b.Count);
            w.Write7BitEncodedInt64(b.Errors);
            w.Write7BitEncodedInt64(b.ToolCalls);
            w.Write7BitEncodedInt64(b.ToolErrors);
            w.Write(b.SumSeconds);
        }
        var slices = _slices.Where(s => s.Epoch > nowSlice - Slices && s.Epoch <= nowSlice && s.HasCounts).ToList();
        w.Write7BitEncodedInt(slices.Count);
        foreach (var s in slices)
        {
            w.Write7BitEncodedInt64(s.Epoch);
            w.Write(s.MaxSeconds);
            var (first, counts) = s.Counts;
            w.Write7BitEncodedInt(counts.Count(c => c > 0));
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] == 0) continue;
                w.Write((byte)(first + i));
                w.Write7BitEncodedInt(counts[i]);
            }
        }
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>Restores what <see cref="Export"/> wrote, dropping what has aged out by <paramref name="now"/>. A snapshot of another window length is ignored.</summary>
    public bool Import(byte[] data, DateTimeOffset now)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        if (r.ReadByte() != 1 || r.ReadInt64() != _bucketTicks) return false;
        var last = r.ReadInt64();
        LastRecordedAt = last == 0 ? null : new DateTimeOffset(last, TimeSpan.Zero);
        var gauges = new Gauge[3];
        for (var i = 0; i < 3; i++)
        {
            var at = r.ReadInt64();
            gauges[i] = new Gauge(r.ReadDouble(), new DateTimeOffset(at, TimeSpan.Zero));
        }
        (_connections, _cpu, _memory) = (gauges[0], gauges[1], gauges[2]);
        var nowEpoch = now.UtcTicks / _bucketTicks;
        for (var n = r.Read7BitEncodedInt(); n > 0; n--)
        {
            var epoch = r.Read7BitEncodedInt64();
            var (count, errors, toolCalls, toolErrors, sum) = (r.Read7BitEncodedInt64(), r.Read7BitEncodedInt64(), r.Read7BitEncodedInt64(), r.Read7BitEncodedInt64(), r.ReadDouble());
            if (epoch <= nowEpoch - BucketsPerWindow || epoch > nowEpoch) continue;
            ref var bucket = ref _buckets[Ring(epoch, BucketsPerWindow)];
            bucket.Reset(epoch);
            (bucket.Count, bucket.Errors, bucket.ToolCalls, bucket.ToolErrors, bucket.SumSeconds) = (count, errors, toolCalls, toolErrors, sum);
        }
        var nowSlice = now.UtcTicks / _sliceTicks;
        for (var n = r.Read7BitEncodedInt(); n > 0; n--)
        {
            var epoch = r.Read7BitEncodedInt64();
            var max = r.ReadDouble();
            var keep = epoch > nowSlice - Slices && epoch <= nowSlice;
            var slice = _slices[Ring(epoch, Slices)];
            if (keep)
            {
                slice.Reset(epoch);
                slice.MaxSeconds = max;
            }
            var counts = new (int Bucket, int Count)[r.Read7BitEncodedInt()];
            for (var i = 0; i < counts.Length; i++) counts[i] = (r.ReadByte(), r.Read7BitEncodedInt());
            if (keep) slice.Restore(counts.Where(c => c.Bucket < LatencyHistogram.BucketCount).ToArray());
        }
        Changed = false;
        return true;
    }

    private static int Ring(long epoch, int size) => (int)(((epoch % size) + size) % size);

    private readonly record struct Gauge(double Value, DateTimeOffset At)
    {
        public double? ValueIfAfter(DateTimeOffset start) => At > start ? Value : null;
    }

    private struct Bucket
    {
        public const int Bytes = 6 * 8;

        public long Epoch;
        public long Count;
        public long Errors;
        public long ToolCalls;
        public long ToolErrors;
        public double SumSeconds;

        public void Reset(long epoch)
        {
            Epoch = epoch;
            Count = Errors = ToolCalls = ToolErrors = 0;
            SumSeconds = 0;
        }

        public void AddMany(long count, double seconds, bool success, bool isToolCall)
        {
            Count += count;
            SumSeconds += seconds;
            if (!success) Errors += count;
            if (isToolCall)
            {
                ToolCalls += count;
                if (!success) ToolErrors += count;
            }
        }

        public void Add(double seconds, bool success, bool isToolCall)
        {
            Count++;
            SumSeconds += seconds;
            if (!success) Errors++;
            if (isToolCall)
            {
                ToolCalls++;
                if (!success) ToolErrors++;
            }
        }
    }

    /// <summary>
    /// One fifth of the window's latency distribution: counts of <see cref="LatencyHistogram"/> buckets, kept only for
    /// the span of buckets seen so far (a few to either side, grown when a request falls outside it), so a narrow
    /// distribution holds tens of counts rather than 172. The span outlives a reset: the next minute's traffic is
    /// usually like the last.
    /// </summary>
    private sealed class Slice
    {
        public const int ObjectBytes = 16 + 2 * 8 + 8 + 8;
        private const int Margin = 4;

        public long Epoch;
        public double MaxSeconds;
        private int[]? _counts; // int: overflow needs over 2^31 requests in one slice
        private int _first;

        public bool HasCounts => _counts is not null;

        /// <summary>How many counts the slice holds memory for.</summary>
        public int Capacity => _counts?.Length ?? 0;

        /// <summary>The first bucket held, and the counts from there on.</summary>
        public (int First, int[] Counts) Counts => (_first, _counts ?? []);

        public void Reset(long epoch)
        {
            Epoch = epoch;
            MaxSeconds = 0;
            if (_counts is not null) Array.Clear(_counts);
        }

        /// <summary>Adds the counts into a full-width histogram; answers how many they were.</summary>
        public long AddTo(Span<long> histogram)
        {
            long total = 0;
            var counts = _counts!;
            for (var i = 0; i < counts.Length; i++)
            {
                histogram[_first + i] += counts[i];
                total += counts[i];
            }
            return total;
        }

        /// <summary>Puts back what a batch kept: the epoch, the largest duration, and the counts from <paramref name="first"/> on.</summary>
        public void Put(long epoch, double maxSeconds, int first, int[]? counts, int length)
        {
            Epoch = epoch;
            MaxSeconds = maxSeconds;
            if (counts is null)
            {
                if (_counts is not null) Array.Clear(_counts);
                return;
            }
            if (_counts is null || _counts.Length != length) _counts = new int[length];
            Array.Copy(counts, _counts, length);
            _first = first;
        }

        /// <summary>Sets the counts of a restored slice, its span sized to them at once.</summary>
        public void Restore((int Bucket, int Count)[] counts)
        {
            if (counts.Length == 0) return;
            Cover(counts.Min(c => c.Bucket), counts.Max(c => c.Bucket));
            foreach (var (bucket, count) in counts) Count(bucket) = count;
        }

        public void Add(double seconds)
        {
            Count(LatencyHistogram.BucketOf(seconds))++;
            MaxSeconds = Math.Max(MaxSeconds, seconds);
        }

        /// <summary>Adds <paramref name="count"/> requests spread evenly between two durations (rounding carried, none lost).</summary>
        public void AddSpread(double lower, double upper, long count)
        {
            MaxSeconds = Math.Max(MaxSeconds, upper);
            var first = LatencyHistogram.BucketOf(lower);
            var last = LatencyHistogram.BucketOf(upper);
            if (first == last || !(upper > lower))
            {
                ref var only = ref Count(last);
                only = Saturate(only + count);
                return;
            }
            Cover(first, last);
            long given = 0;
            for (var b = first; b <= last; b++)
            {
                var reached = b == last ? count : (long)Math.Round(count * ((Math.Min(upper, LatencyHistogram.UpperBound(b)) - lower) / (upper - lower)));
                ref var slot = ref Count(b);
                slot = Saturate(slot + (reached - given));
                given = reached;
            }
        }

        private ref int Count(int bucket)
        {
            Cover(bucket, bucket);
            return ref _counts![bucket - _first];
        }

        /// <summary>Grows the span held to include buckets <paramref name="low"/> to <paramref name="high"/>, with a margin on the side that grew.</summary>
        private void Cover(int low, int high)
        {
            var end = _first + (_counts?.Length ?? 0);
            if (_counts is not null && low >= _first && high < end)
            {
                return;
            }
            var newFirst = _counts is null || low < _first ? Math.Max(0, low - Margin) : _first;
            var newEnd = _counts is null || high >= end ? Math.Min(LatencyHistogram.BucketCount, high + 1 + Margin) : end;
            var grown = new int[newEnd - newFirst];
            if (_counts is not null) Array.Copy(_counts, 0, grown, _first - newFirst, _counts.Length);
            (_counts, _first) = (grown, newFirst);
        }

        private static int Saturate(long value) => (int)Math.Min(value, int.MaxValue);
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
