using Monitoring.Muting;
using Monitoring.Routing;
using Monitoring.Silences;

namespace Monitoring.Tests.Alertmanager;

/// <summary>
/// The one place that decides what mutes an alert, without a cluster: which time interval holds a route's messages,
/// and which silences hold an alert's labels. Each row is a route's intervals, a moment, and what must hold it.
/// </summary>
public sealed class MutesTests
{
    // A Saturday, 10:30 UTC.
    private static readonly DateTimeOffset Saturday = new(2026, 12, 5, 10, 30, 0, TimeSpan.Zero);

    private static readonly RoutingSet Set = RoutingSet.Empty with
    {
        TimeIntervals =
        [
            new TimeInterval("weekends", [new TimeRangeSet { Weekdays = [new IntRange(6, 6), new IntRange(0, 0)] }], "UTC"),
            new TimeInterval("office", [new TimeRangeSet { Weekdays = [new IntRange(1, 5)], Times = [new IntRange(9 * 60, 17 * 60)] }], "UTC"),
            new TimeInterval("mornings", [new TimeRangeSet { Times = [new IntRange(6 * 60, 12 * 60)] }], "UTC"),
        ],
    };

    public sealed record Row(string Name, string[] Mute, string[] Active, DateTimeOffset At, string? HeldBy);

    public static TheoryData<Row> Rows() => new(
        new Row("no intervals: nothing holds", [], [], Saturday, null),
        new Row("a mute interval in force holds", ["weekends"], [], Saturday, "weekends"),
        new Row("a mute interval out of force does not", ["office"], [], Saturday, null),
        new Row("the first mute interval in force is named", ["office", "mornings", "weekends"], [], Saturday, "mornings"),
        new Row("every active interval out of force holds", [], ["office"], Saturday, "office (outside)"),
        new Row("one active interval in force is enough", [], ["office", "weekends"], Saturday, null),
        new Row("a mute interval wins over an active one in force", ["mornings"], ["weekends"], Saturday, "mornings"),
        new Row("an unknown name holds nothing", ["holidays"], ["holidays"], Saturday, null),
        new Row("out of the mute interval's hours", ["mornings"], [], Saturday.AddHours(3), null));

    [Theory]
    [MemberData(nameof(Rows))]
    public void A_routes_time_intervals_hold_its_messages_as_the_row_says(Row row)
    {
        var route = new RouteMatch("0", "team", [], TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromHours(4), row.Mute, row.Active, [], "i");
        Assert.Equal(row.HeldBy, Mutes.TimeIntervalOf(Set, route, row.At));
    }

    [Fact]
    public void The_silences_holding_an_alert_are_the_active_matching_ones_latest_ending_first()
    {
        Silence Make(string id, string team, int startsHours, int endsHours) =>
            new(id, [new Matcher("team", MatchOperator.Equal, team)], Saturday.AddHours(startsHours), Saturday.AddHours(endsHours), "alice", "deploy", false, Saturday);
        var set = new SilenceSet(1, [Make("short", "db", -1, 1), Make("long", "db", -1, 5), Make("other", "web", -1, 5), Make("later", "db", 2, 6), Make("over", "db", -3, -1)]);
        var labels = new Dictionary<string, string> { ["team"] = "db" };
        Assert.Equal(["long", "short"], Mutes.SilencedBy(set, labels, Saturday));
        Assert.Equal(["later", "long"], Mutes.SilencedBy(set, labels, Saturday.AddHours(3)));
        Assert.Empty(Mutes.SilencedBy(set, new Dictionary<string, string> { ["team"] = "ops" }, Saturday));
    }
}
