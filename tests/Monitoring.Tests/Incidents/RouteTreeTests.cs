using Monitoring.Routing;
using Monitoring.Silences;

namespace Monitoring.Tests.Incidents;

/// <summary>Routing with Alertmanager's documented semantics: first match wins unless continue, children inherit, the root takes the rest.</summary>
public sealed class RouteTreeTests
{
    private static Matcher M(string text) => MatcherText.TryParse(text, out var m, out var error) ? m : throw new ArgumentException(error);

    // root (default, group by alertname)
    // ├─ 0: severity="critical" → pager, group by alertname+server_id, wait 10s
    // │   └─ 0: team="db" → db-pager (inherits the rest)
    // ├─ 1: team=~"front.*" → frontend, continue
    // ├─ 2: env="prod" → prod, repeat 1h
    // └─ 3: env!="prod", team!~"ops|db" → misc, group by "..."
    private static readonly Route Tree = new()
    {
        Receiver = "default",
        GroupBy = ["alertname"],
        Routes =
        [
            new Route
            {
                Matchers = [M("severity=critical")], Receiver = "pager", GroupBy = ["alertname", "server_id"], GroupWait = TimeSpan.FromSeconds(10),
                Routes = [new Route { Matchers = [M("team=db")], Receiver = "db-pager" }],
            },
            new Route { Matchers = [M("team=~front.*")], Receiver = "frontend", Continue = true },
            new Route { Matchers = [M("env=prod")], Receiver = "prod", RepeatInterval = TimeSpan.FromHours(1) },
            new Route { Matchers = [M("env!=prod"), M("team!~ops|db")], Receiver = "misc", GroupBy = ["..."] },
        ],
    };

    public static TheoryData<string, string> Cases => new()
    {
        // labels (k=v;k=v) → the routes taken, as path:receiver
        { "severity=critical;team=db", "root/0/0:db-pager" },
        { "severity=critical;team=web", "root/0:pager" },
        { "severity=critical;team=frontend;env=prod", "root/0:pager" }, // the first match stops the search
        { "team=frontend;env=prod", "root/1:frontend root/2:prod" }, // continue goes on to the next sibling
        { "team=frontend;env=dev", "root/1:frontend root/3:misc" },
        { "team=frontend-eu", "root/1:frontend root/3:misc" }, // a missing env is "" and so not "prod"
        { "team=xfrontend;env=prod", "root/2:prod" }, // regexes are anchored
        { "team=ops;env=dev", "root:default" }, // no child takes it: the root does
        { "team=db;env=staging", "root:default" },
        { "", "root/3:misc" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Alerts_take_the_routes_Alertmanager_would_give_them(string labels, string expected)
    {
        var set = labels.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(expected, string.Join(" ", RouteTree.Match(Tree, set).Select(m => $"{m.Path}:{m.Receiver}")));
    }

    [Fact]
    public void Children_inherit_unset_fields_and_the_root_has_Alertmanagers_defaults()
    {
        var dbPager = RouteTree.Match(Tree, new Dictionary<string, string> { ["severity"] = "critical", ["team"] = "db", ["alertname"] = "Down", ["server_id"] = "s1" }).Single();
        Assert.Equal(["alertname", "server_id"], dbPager.GroupBy);
        Assert.Equal(TimeSpan.FromSeconds(10), dbPager.GroupWait);
        Assert.Equal(TimeSpan.FromMinutes(5), dbPager.GroupInterval);
        Assert.Equal(TimeSpan.FromHours(4), dbPager.RepeatInterval);
        Assert.Equal(new Dictionary<string, string> { ["alertname"] = "Down", ["server_id"] = "s1" }, dbPager.GroupLabels);

        var prod = RouteTree.Match(Tree, new Dictionary<string, string> { ["env"] = "prod", ["alertname"] = "Slow" }).Single();
        Assert.Equal(TimeSpan.FromSeconds(30), prod.GroupWait);
        Assert.Equal(TimeSpan.FromHours(1), prod.RepeatInterval);
        Assert.Equal(["alertname"], prod.GroupBy);
    }

    [Fact]
    public void Group_labels_decide_the_incident()
    {
        Dictionary<string, string> Alert(string server) => new() { ["severity"] = "critical", ["alertname"] = "High error rate", ["server_id"] = server, ["team"] = "web" };
        var a = RouteTree.Match(Tree, Alert("s1")).Single();
        var b = RouteTree.Match(Tree, Alert("s2")).Single();
        Assert.NotEqual(a.IncidentId, b.IncidentId); // pager groups by server too

        var byName = new Route { Receiver = "ops", GroupBy = ["alertname"] };
        Assert.Equal(RouteTree.Match(byName, Alert("s1")).Single().IncidentId, RouteTree.Match(byName, Alert("s2")).Single().IncidentId);
        Assert.True(RouteTree.IsIncidentId(RouteTree.Match(byName, Alert("s1")).Single().IncidentId));

        var everything = new Route { Receiver = "ops" };
        Assert.Empty(RouteTree.Match(everything, Alert("s1")).Single().GroupLabels); // no group_by: one group for all

        var each = RouteTree.Match(Tree, new Dictionary<string, string> { ["alertname"] = "X", ["server_id"] = "s9" }).Single();
        Assert.Equal("root/3", each.Path);
        Assert.Equal(2, each.GroupLabels.Count); // "..." groups by every label: one incident per alert
    }

    [Theory]
    [InlineData("2026-11-25T10:30:00Z", true)] // Wednesday 11:30 in Berlin
    [InlineData("2026-11-25T16:30:00Z", false)] // 17:30 in Berlin: the end is exclusive
    [InlineData("2026-11-28T10:30:00Z", false)] // Saturday
    [InlineData("2026-07-01T07:30:00Z", true)] // 09:30 in Berlin in summer time
    [InlineData("2026-07-01T06:30:00Z", false)] // 08:30 in Berlin
    public void Time_intervals_are_read_in_their_time_zone(string at, bool inside)
    {
        var hours = new TimeInterval("office", [new TimeRangeSet { Weekdays = [new IntRange(1, 5)], Times = [new IntRange(9 * 60, 17 * 60)] }], "Europe/Berlin");
        Assert.Equal(inside, TimeIntervals.Contains(hours, DateTimeOffset.Parse(at)));
    }

    [Fact]
    public void Days_of_month_count_back_from_the_end_and_months_and_years_limit()
    {
        var lastDay = new TimeInterval("month-end", [new TimeRangeSet { DaysOfMonth = [new IntRange(-1, -1)], Months = [new IntRange(2, 2)] }], "UTC");
        Assert.True(TimeIntervals.Contains(lastDay, DateTimeOffset.Parse("2028-02-29T12:00:00Z")));
        Assert.False(TimeIntervals.Contains(lastDay, DateTimeOffset.Parse("2028-02-28T12:00:00Z")));
        Assert.False(TimeIntervals.Contains(lastDay, DateTimeOffset.Parse("2028-03-31T12:00:00Z")));
        var year = new TimeInterval("y", [new TimeRangeSet { Years = [new IntRange(2027, 2027)] }], "UTC");
        Assert.False(TimeIntervals.Contains(year, DateTimeOffset.Parse("2026-06-01T00:00:00Z")));
        Assert.True(TimeIntervals.Contains(year, DateTimeOffset.Parse("2027-06-01T00:00:00Z")));
    }
}
