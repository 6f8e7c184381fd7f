using Monitoring.Heartbeats;

namespace Monitoring.Tests.Heartbeats;

/// <summary>The rules of a heartbeat, without a cluster: each row a check, its pings, a moment, and what it reads.</summary>
public sealed class HeartbeatClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    private static HeartbeatCheck Hourly(TimeSpan? startGrace = null) =>
        new("job", "Nightly job", [], TimeSpan.FromHours(1), null, "UTC", TimeSpan.FromMinutes(5), startGrace, T0);

    private static HeartbeatPing Ping(int minutes, PingKind kind = PingKind.Success, int? code = null) => new(T0.AddMinutes(minutes), kind, code, null);

    public static TheoryData<string, HeartbeatCheck, HeartbeatPing?, HeartbeatPing?, bool, int, HeartbeatStatus, int?, int?> Rows => new()
    {
        // what, check, last success, last ping, paused, minutes after T0, status, next expected (minutes), down at (minutes)
        { "never pinged, no start grace: new, nothing due", Hourly(), null, null, false, 600, HeartbeatStatus.New, null, null },
        { "never pinged, start grace 10m: new until then", Hourly(TimeSpan.FromMinutes(10)), null, null, false, 9, HeartbeatStatus.New, 10, 15 },
        { "never pinged, start grace 10m: late in its grace", Hourly(TimeSpan.FromMinutes(10)), null, null, false, 12, HeartbeatStatus.Late, 10, 15 },
        { "never pinged, start grace 10m: down after", Hourly(TimeSpan.FromMinutes(10)), null, null, false, 15, HeartbeatStatus.Down, 10, 15 },
        { "pinged: up within its period", Hourly(), Ping(0), Ping(0), false, 59, HeartbeatStatus.Up, 60, 65 },
        { "overdue: late within the grace", Hourly(), Ping(0), Ping(0), false, 62, HeartbeatStatus.Late, 60, 65 },
        { "overdue past the grace: down", Hourly(), Ping(0), Ping(0), false, 65, HeartbeatStatus.Down, 60, 65 },
        { "a reported failure: down at once", Hourly(), Ping(0), Ping(10, PingKind.Fail), false, 11, HeartbeatStatus.Down, null, 10 },
        { "a non-zero exit code reads as a failure", Hourly(), Ping(0), Ping(10, PingKind.Fail, 3), false, 11, HeartbeatStatus.Down, null, 10 },
        { "a success after a failure: up again", Hourly(), Ping(20), Ping(20), false, 21, HeartbeatStatus.Up, 80, 85 },
        { "started, within the grace: up", Hourly(), Ping(0), Ping(30, PingKind.Start), false, 34, HeartbeatStatus.Up, 60, 35 },
        { "started, no success within the grace: down", Hourly(), Ping(0), Ping(30, PingKind.Start), false, 35, HeartbeatStatus.Down, 60, 35 },
        { "paused: nothing, however late", Hourly(), Ping(0), Ping(0), true, 600, HeartbeatStatus.Paused, null, null },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_row_reads_as_worked_out_by_hand(string what, HeartbeatCheck check, HeartbeatPing? success, HeartbeatPing? last, bool paused, int minutes, HeartbeatStatus status, int? expected, int? down)
    {
        var reading = HeartbeatClock.Read(check, T0, success, last, paused, T0.AddMinutes(minutes));
        Assert.True(status == reading.Status, $"{what}: {reading.Status} ({reading.Why})");
        Assert.Equal(expected is { } e ? T0.AddMinutes(e) : null, reading.NextExpectedAt);
        Assert.Equal(down is { } d ? T0.AddMinutes(d) : null, reading.DownAt);
    }

    [Fact]
    public void A_cron_check_expects_its_next_local_time_across_the_spring_change()
    {
        // 09:00 Berlin every day: on Saturday 2026-03-28 that is 08:00 UTC; on Sunday 29 March, after the clocks go
        // forward, 07:00 UTC. Still 09:00 on the wall.
        var check = new HeartbeatCheck("backup", "Backup", [], null, "0 9 * * *", "Europe/Berlin", TimeSpan.FromMinutes(30), null, T0);
        var saturday = new HeartbeatPing(new DateTimeOffset(2026, 3, 28, 8, 0, 5, TimeSpan.Zero), PingKind.Success, null, null);
        var reading = HeartbeatClock.Read(check, T0, saturday, saturday, false, saturday.At.AddHours(1));
        Assert.Equal(HeartbeatStatus.Up, reading.Status);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 7, 0, 0, TimeSpan.Zero), reading.NextExpectedAt);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 7, 30, 0, TimeSpan.Zero), reading.DownAt);
        Assert.Equal(HeartbeatStatus.Down, HeartbeatClock.Read(check, T0, saturday, saturday, false, new DateTimeOffset(2026, 3, 29, 7, 30, 0, TimeSpan.Zero)).Status);
    }

    public static TheoryData<HeartbeatCheck, string, string> Wrong => new()
    {
        { Hourly() with { Cron = "0 * * * *" }, "period", "not both" },
        { Hourly() with { Period = null }, "period", "neither" },
        { Hourly() with { Period = null, Cron = "0 25 * * *" }, "cron", "not a cron expression" },
        { Hourly() with { Period = TimeSpan.FromSeconds(10) }, "period", "from 1m" },
        { Hourly() with { TimeZone = "Mars/Olympus" }, "timeZone", "IANA" },
        { Hourly() with { Grace = TimeSpan.FromDays(31) }, "grace", "must be from 0s to" },
        { Hourly() with { StartGrace = TimeSpan.Zero }, "startGrace", "more than 0s" },
    };

    [Theory]
    [MemberData(nameof(Wrong))]
    public void A_wrong_check_is_refused_at_its_field(HeartbeatCheck check, string field, string message)
    {
        var error = Assert.Single(HeartbeatClock.Check(check));
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
    }
}
