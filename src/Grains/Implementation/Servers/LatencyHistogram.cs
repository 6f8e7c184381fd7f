namespace Monitoring.Servers;

/// <summary>
/// Log-scale latency buckets from 0.1 ms to about 1,000 s, each 10% wider than the one before.
/// Fixed size whatever the request rate; quantiles interpolate linearly inside a bucket.
/// </summary>
public static class LatencyHistogram
{
    public const double MinSeconds = 1e-4;
    public const double Growth = 1.1;
    public const int BucketCount = 172; // 0: below MinSeconds, 1..170: log buckets, 171: overflow

    private static readonly double LogGrowth = Math.Log(Growth);

    public static int BucketOf(double seconds)
    {
        if (!(seconds >= MinSeconds))
        {
            return 0;
        }
        var index = (int)Math.Floor(Math.Log(seconds / MinSeconds) / LogGrowth) + 1;
        return Math.Min(index, BucketCount - 1);
    }

    public static double LowerBound(int bucket) => bucket <= 0 ? 0 : MinSeconds * Math.Pow(Growth, bucket - 1);

    public static double UpperBound(int bucket) => bucket <= 0 ? MinSeconds : MinSeconds * Math.Pow(Growth, bucket);

    /// <summary>The q-quantile (0..1) of a histogram holding <paramref name="total"/> observations, as histogram_quantile does.</summary>
    public static double Quantile(ReadOnlySpan<long> counts, long total, double q, double observedMax)
    {
        if (total <= 0)
        {
            return 0;
        }
        var rank = q * total;
        long cumulative = 0;
        for (var bucket = 0; bucket < counts.Length; bucket++)
        {
            var count = counts[bucket];
            if (count == 0)
            {
                continue;
            }
            if (cumulative + count >= rank)
            {
                var lower = LowerBound(bucket);
                // No value is above the largest observed: the bucket that holds it is filled only up to there.
                var upper = bucket == BucketCount - 1 ? Math.Max(observedMax, lower) : Math.Max(lower, Math.Min(UpperBound(bucket), observedMax));
                var estimate = lower + (upper - lower) * ((rank - cumulative) / count);
                return Math.Min(estimate, observedMax);
            }
            cumulative += count;
        }
        return observedMax;
    }
}
