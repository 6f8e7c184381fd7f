using Monitoring.Servers;

namespace Monitoring.Tests.Telemetry;

/// <summary>
/// OTLP's cumulative points turned into the requests each adds, without a server grain. Each row is a series' points
/// in the order they arrive (start minute, minute sent, count, bucket counts) and what each must add (null: nothing).
/// </summary>
public sealed class CumulativeSeriesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    public sealed record Point(int StartMinute, int AtMinute, long Count, long[] Buckets, bool Cumulative = true);

    public sealed record Row(string Name, Point[] Points, long?[] Adds);

    public static TheoryData<Row> Rows() => new(
        new Row("a delta point is itself", [new(-1, 0, 7, [7, 0], Cumulative: false)], [7]),
        new Row("an old series' first point is a baseline; the next adds the difference",
            [new(-60, -1, 100, [90, 10]), new(-60, 0, 130, [110, 20])], [null, 30]),
        new Row("a series started inside the window counts its first point whole", [new(-2, -1, 12, [12, 0]), new(-2, 0, 15, [14, 1])], [12, 3]),
        new Row("a restart (a new start) is a baseline again", [new(-60, -2, 100, [100, 0]), new(-60, -1, 110, [110, 0]), new(-30, 0, 5, [5, 0])], [null, 10, null]),
        new Row("a smaller count (a sender's reset) is not a negative count", [new(-60, -2, 100, [100, 0]), new(-60, -1, 40, [40, 0])], [null, null]),
        new Row("a point older than the series' last adds nothing and changes nothing",
            [new(-60, -2, 100, [100, 0]), new(-60, 0, 120, [120, 0]), new(-60, -1, 110, [110, 0]), new(-60, 1, 125, [125, 0])], [null, 20, null, 5]));

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_point_adds_what_the_row_says(Row row)
    {
        var series = new CumulativeSeries();
        var adds = row.Points.Select(p => series.ToDelta(Make(p), Now, Window)?.Count).ToArray();
        Assert.Equal(row.Adds, adds);
    }

    [Fact]
    public void Bucket_counts_are_differences_and_never_negative()
    {
        var series = new CumulativeSeries();
        series.ToDelta(Make(new(-60, -1, 100, [90, 10])), Now, Window);
        var delta = series.ToDelta(Make(new(-60, 0, 130, [125, 5])), Now, Window)!;
        Assert.Equal([35L, 0L], delta.BucketCounts);
    }

    [Fact]
    public void A_series_past_the_limit_is_dropped_and_the_known_ones_go_on()
    {
        var series = new CumulativeSeries();
        for (var i = 0; i < CumulativeSeries.MaxSeries; i++) series.ToDelta(Make(new(-60, -1, 10, [10, 0])) with { Tool = $"t{i}" }, Now, Window);
        Assert.Equal(-1, series.ToDelta(Make(new(-60, 0, 10, [10, 0])) with { Tool = "one too many" }, Now, Window)!.Count);
        Assert.Equal(5, series.ToDelta(Make(new(-60, 0, 15, [15, 0])) with { Tool = "t0" }, Now, Window)!.Count);
    }

    [Fact]
    public void A_batch_taken_back_puts_each_series_back_so_the_resent_points_count_again()
    {
        var series = new CumulativeSeries();
        series.ToDelta(Make(new(-60, -2, 100, [100, 0])), Now, Window);
        series.Begin();
        Assert.Equal(20, series.ToDelta(Make(new(-60, -1, 120, [120, 0])), Now, Window)!.Count);
        Assert.Equal(3, series.ToDelta(Make(new(-1, -1, 3, [3, 0])) with { Tool = "new" }, Now, Window)!.Count);
        series.Rollback();
        // Resent: the same points add the same again (a series that was new is new again).
        Assert.Equal(20, series.ToDelta(Make(new(-60, -1, 120, [120, 0])), Now, Window)!.Count);
        Assert.Equal(3, series.ToDelta(Make(new(-1, -1, 3, [3, 0])) with { Tool = "new" }, Now, Window)!.Count);
        series.Begin();
        series.ToDelta(Make(new(-60, 0, 125, [125, 0])), Now, Window);
        series.Commit();
        series.Rollback();
        Assert.Equal(0, series.ToDelta(Make(new(-60, 0, 125, [125, 0])), Now, Window)!.Count); // committed: the same point again adds nothing
    }

    private static RequestAggregate Make(Point p) =>
        new("tools/call", "search", null, Now.AddMinutes(p.StartMinute), Now.AddMinutes(p.AtMinute), p.Cumulative, p.Count,
            p.Count * 0.1, [0.5], p.Buckets, null, null);
}
