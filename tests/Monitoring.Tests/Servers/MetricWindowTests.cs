using Monitoring.Rules.Conditions;
using Monitoring.Servers;

namespace Monitoring.Tests.Servers;

public sealed class MetricWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Percentiles_of_a_uniform_distribution_are_within_two_percent()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        // 1 ms .. 1000 ms, each once, in shuffled order: p95 = 950 ms, p99 = 990 ms, mean = 500.5 ms.
        foreach (var ms in Enumerable.Range(1, 1000).OrderBy(i => (i * 7919) % 1000))
        {
            Assert.True(window.Record(Start, Start, ms / 1000.0, true, false));
        }
        var snapshot = window.Snapshot(Start);
        Assert.Equal(1000, snapshot.RequestsInWindow);
        Assert.Equal(0.5005, snapshot.AverageResponseTime, 6);
        Assert.InRange(snapshot.P95ResponseTime, 0.950 * 0.98, 0.950 * 1.02);
        Assert.InRange(snapshot.P99ResponseTime, 0.990 * 0.98, 0.990 * 1.02);
    }

    [Fact]
    public void Percentiles_of_a_skewed_distribution_find_the_tail()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 960; i++) window.Record(Start, Start, 0.010, true, false);
        for (var i = 0; i < 40; i++) window.Record(Start, Start, 2.0, true, false);
        var snapshot = window.Snapshot(Start);
        Assert.InRange(snapshot.P95ResponseTime, 0.0095, 0.0111);
        Assert.InRange(snapshot.P99ResponseTime, 1.8, 2.0);
    }

    [Fact]
    public void Rates_follow_the_seed()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 300; i++) window.Record(Start, Start, 0.1, success: i % 10 != 0, isToolCall: i % 2 == 0);
        var metrics = window.Snapshot(Start).ToMetrics();
        Assert.Equal(1.0, metrics[MetricNames.RequestsPerSecond], 9); // 300 requests over a 300 s window
        Assert.Equal(0.1, metrics[MetricNames.ErrorRate], 9);
        Assert.Equal(30.0 / 150, metrics[MetricNames.ToolErrorRate], 9); // every failure is on an even i, a tool call
    }

    [Fact]
    public void Data_expires_as_the_window_slides()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        window.Record(Start, Start, 0.2, false, false);
        window.Record(Start.AddMinutes(3), Start.AddMinutes(3), 0.4, true, false);
        window.RecordGauges(new GaugeReading(3, 42.5, 61), Start);

        var atFour = window.Snapshot(Start.AddMinutes(4));
        Assert.Equal(2, atFour.RequestsInWindow);
        Assert.Equal(0.5, atFour.ErrorRate);
        Assert.Equal(42.5, atFour.CpuUsage);

        var atSix = window.Snapshot(Start.AddMinutes(6));
        Assert.Equal(1, atSix.RequestsInWindow);
        Assert.Equal(0, atSix.ErrorRate);
        Assert.Null(atSix.CpuUsage); // the gauge reading is older than the window: no data, not 0

        var atNine = window.Snapshot(Start.AddMinutes(9));
        Assert.Equal(0, atNine.RequestsInWindow);
        // An empty window tells nothing: the request metrics are absent, so a rule over them has no data.
        Assert.Empty(atNine.ToMetrics());
    }

    [Fact]
    public void Records_older_than_the_window_are_refused_and_future_ones_count_as_now()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        Assert.False(window.Record(Start.AddMinutes(-6), Start, 0.1, true, false));
        Assert.True(window.Record(Start.AddMinutes(2), Start, 0.1, true, false));
        Assert.Equal(1, window.Snapshot(Start).RequestsInWindow);
        Assert.Equal(Start, window.LastRecordedAt);
    }

    [Fact]
    public void A_recycled_bucket_forgets_what_it_held()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var minute = 0; minute < 30; minute++)
        {
            var at = Start.AddMinutes(minute);
            window.Record(at, at, minute < 20 ? 5.0 : 0.001, true, false);
        }
        var snapshot = window.Snapshot(Start.AddMinutes(29));
        Assert.Equal(5, snapshot.RequestsInWindow);
        Assert.True(snapshot.P99ResponseTime < 0.0011, $"p99 {snapshot.P99ResponseTime} still holds expired slow requests");
    }

    [Fact]
    public void Memory_stays_bounded_whatever_the_rate()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        var now = Start;
        for (var i = 0; i < 20; i++) window.Record(now.AddSeconds(i * 15), now.AddSeconds(i * 15), 0.1, true, false);
        void Burst()
        {
            for (var i = 0; i < 200_000; i++)
            {
                var at = Start.AddSeconds(285 + i % 15);
                window.Record(at, at, (i % 1000) / 1000.0, i % 3 != 0, i % 2 == 0);
            }
        }
        // The first burst widens its slice's span to the latencies it brings; the next, at the same rate, allocates nothing.
        Burst();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Burst();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.InRange(window.Bytes, 1, MetricWindow.MaxBytes);
        Assert.InRange(MetricWindow.MaxBytes, 1, 32 * 1024);
    }

    public static TheoryData<string> Distributions => ["lognormal", "uniform", "bimodal", "exponential"];

    /// <summary>The percentile error the window's histogram costs: within 1% of the exact quantile on smooth distributions.</summary>
    [Theory]
    [MemberData(nameof(Distributions))]
    public void P95_and_p99_are_within_one_percent_of_the_exact_quantiles(string distribution)
    {
        var random = new Random(42);
        double Sample() => distribution switch
        {
            "lognormal" => 0.1 * Math.Exp(0.5 * Gaussian(random)),
            "uniform" => 0.005 + random.NextDouble() * 0.995,
            "bimodal" => random.NextDouble() < 0.8 ? 0.02 + 0.01 * random.NextDouble() : 0.4 + 0.4 * random.NextDouble(),
            _ => -0.05 * Math.Log(1 - random.NextDouble()),
        };
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        var samples = new double[50_000];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = Sample();
            var at = Start.AddSeconds(i % 300);
            window.Record(at, Start.AddSeconds(299), samples[i], true, false);
        }
        Array.Sort(samples);
        var snapshot = window.Snapshot(Start.AddSeconds(299));
        var p95 = samples[(int)Math.Ceiling(0.95 * samples.Length) - 1];
        var p99 = samples[(int)Math.Ceiling(0.99 * samples.Length) - 1];
        Assert.InRange(snapshot.P95ResponseTime / p95, 0.99, 1.01);
        Assert.InRange(snapshot.P99ResponseTime / p99, 0.99, 1.01);
    }

    /// <summary>
    /// A slice holds counts only for the span of latencies it has seen, grown both ways as requests fall outside it:
    /// the percentiles are exactly those of a full 172-bucket histogram of the same requests, before and after a
    /// restore, and a window of 10 to 400 ms traffic is a fraction of the bound.
    /// </summary>
    [Fact]
    public void Slices_hold_only_the_latencies_seen_and_read_as_a_full_histogram_would()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        var now = Start.AddSeconds(299);
        var full = new long[LatencyHistogram.BucketCount];
        double max = 0;
        void Record(int second, double seconds)
        {
            Assert.True(window.Record(Start.AddSeconds(second), now, seconds, true, false));
            full[LatencyHistogram.BucketOf(seconds)]++;
            max = Math.Max(max, seconds);
        }
        void Matches(MetricWindow w)
        {
            var snapshot = w.Snapshot(now);
            Assert.Equal(LatencyHistogram.Quantile(full, full.Sum(), 0.95, max), snapshot.P95ResponseTime, 12);
            Assert.Equal(LatencyHistogram.Quantile(full, full.Sum(), 0.99, max), snapshot.P99ResponseTime, 12);
        }
        // Middle first, then below and above it, so every slice's span grows on both sides.
        for (var i = 0; i < 3000; i++) Record(i % 300, i < 1000 ? 0.1 : i < 2000 ? 0.010 + (i % 97) * 0.0001 : 0.2 + (i % 89) * 0.0025);
        Assert.InRange(window.Bytes, 1, 3 * 1024);
        Assert.True(window.Bytes < MetricWindow.MaxBytes / 2, $"{window.Bytes} of {MetricWindow.MaxBytes}");
        Matches(window);
        // A rare slow request and a sub-millisecond one widen the span at once; nothing already counted moves.
        Record(299, 30.0);
        Record(299, 0.00005);
        Matches(window);
        var restored = new MetricWindow(TimeSpan.FromMinutes(5));
        Assert.True(restored.Import(window.Export(now), now));
        Matches(restored);
        // Restored spans are sized to the counts at once: the same as grown ones, give or take their margins.
        Assert.InRange(restored.Bytes, 1, window.Bytes + 256);
    }

    [Fact]
    public void A_full_window_stays_under_8_KiB()
    {
        Assert.InRange(MetricWindow.MaxBytes, 1, 8 * 1024);
    }

    [Fact]
    public void An_exported_window_restores_what_has_not_aged_out()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 600; i++)
        {
            var at = Start.AddSeconds(i);
            window.Record(at, at, 0.001 * (i % 200 + 1), success: i % 4 != 0, isToolCall: i % 2 == 0);
        }
        window.RecordGauges(new GaugeReading(3, 42.5, 61), Start.AddSeconds(590));
        var now = Start.AddSeconds(599);
        var data = window.Export(now);
        Assert.InRange(data.Length, 1, 2048);

        // A new activation 30 s later restores it: what aged out meanwhile is gone, the rest is as it was.
        var later = now.AddSeconds(30);
        var restored = new MetricWindow(TimeSpan.FromMinutes(5));
        Assert.True(restored.Import(data, later));
        Assert.Equal(window.Snapshot(later), restored.Snapshot(later));
        Assert.Equal(window.LastRecordedAt, restored.LastRecordedAt);
        Assert.False(new MetricWindow(TimeSpan.FromMinutes(10)).Import(data, later), "a snapshot of another window length is ignored");
    }

    [Fact]
    public void Summed_requests_read_as_Prometheus_interpolates_inside_the_senders_buckets()
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        // 10,000 requests over OpenTelemetry's bounds: 10% up to 10 ms, 40% to 20 ms, 40% to 50 ms, 10% to 100 ms.
        // (With a handful of requests per bucket, rounding them onto the window's finer buckets costs a few percent.)
        double[] bounds = [0.01, 0.02, 0.05, 0.1];
        long[] counts = [1_000, 4_000, 4_000, 1_000, 0];
        Assert.True(window.RecordMany(Start, Start, 10_000, true, true, 300.0, bounds, counts, minSeconds: 0.002, maxSeconds: 0.09));
        var snapshot = window.Snapshot(Start);
        Assert.Equal(10_000, snapshot.RequestsInWindow);
        Assert.Equal(0.03, snapshot.AverageResponseTime, 9);
        Assert.Equal(10_000, snapshot.ToolCalls);
        // histogram_quantile: p95 lies halfway through the (50 ms, 100 ms] bucket, clamped to the largest seen (90 ms):
        // 50 + (90 - 50) * 5/10 = 70 ms; p50 at the end of the (10, 20] bucket: 20 ms.
        Assert.InRange(snapshot.P95ResponseTime, 0.070 * 0.98, 0.070 * 1.02);
        Assert.InRange(window.Snapshot(Start).P99ResponseTime, 0.086 * 0.98, 0.086 * 1.02);

        // Errors count whole; a second batch adds to the same bucket; nothing is lost to rounding.
        Assert.True(window.RecordMany(Start, Start, 7, false, false, 0.7, bounds, [0, 0, 3, 4, 0], null, null));
        snapshot = window.Snapshot(Start);
        Assert.Equal(10_007, snapshot.RequestsInWindow);
        Assert.Equal(7.0 / 10_007, snapshot.ErrorRate, 9);
        Assert.Equal(10_000, snapshot.ToolCalls);
        // Too old for the window: refused, as single records are.
        Assert.False(window.RecordMany(Start - TimeSpan.FromMinutes(6), Start, 5, true, false, 0.1, bounds, [5, 0, 0, 0, 0], null, null));
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>What a batch may record, on a window that already holds some traffic: each must be taken back whole.</summary>
    public static TheoryData<string> Batches() => new("requests", "a new slice's requests", "slow requests that widen the histogram", "summed points", "gauges", "all of it");

    [Theory]
    [MemberData(nameof(Batches))]
    public void A_batch_taken_back_leaves_the_window_as_it_was_and_one_committed_stays(string batch)
    {
        var window = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 50; i++) window.Record(Start.AddSeconds(i), Start.AddSeconds(60), 0.05, i % 10 != 0, true);
        window.RecordGauges(new GaugeReading(3, 40, 60), Start);
        var now = Start.AddSeconds(90);
        var before = window.Snapshot(now);
        var export = Convert.ToBase64String(window.Export(now));

        void Record()
        {
            if (batch is "requests" or "all of it") for (var i = 0; i < 30; i++) window.Record(now, now, 0.05, false, true);
            if (batch is "a new slice's requests") for (var i = 0; i < 30; i++) window.Record(Start.AddSeconds(80), now, 0.05, false, true);
            if (batch is "slow requests that widen the histogram" or "all of it") for (var i = 0; i < 30; i++) window.Record(now, now, 30, true, false);
            if (batch is "summed points" or "all of it") window.RecordMany(now, now, 100, false, true, 12, [0.1, 1], [60, 30, 10], 0.01, 3);
            if (batch is "gauges" or "all of it") window.RecordGauges(new GaugeReading(9, 99, 99), now);
        }

        window.Begin();
        Record();
        Assert.NotEqual(before, window.Snapshot(now));
        window.Rollback();
        Assert.Equal(before, window.Snapshot(now));
        Assert.True(window.Changed); // a snapshot stored meanwhile may hold what was taken back
        Assert.Equal(export, Convert.ToBase64String(window.Export(now)));

        window.Begin();
        Record();
        var after = window.Snapshot(now);
        window.Commit();
        window.Rollback(); // nothing left to take back
        Assert.Equal(after, window.Snapshot(now));
        Assert.NotEqual(before, after);
    }
}
