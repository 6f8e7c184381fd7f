using Microsoft.Extensions.Time.Testing;
using Monitoring.OnCall;

namespace Monitoring.Tests.OnCall;

/// <summary>
/// Who is on call, worked out by hand: handoffs on the schedule's wall clock across the daylight-saving changes of
/// Europe/Berlin and America/New_York, layers and their restrictions, overrides, shifts and gaps, and the checks.
/// </summary>
public sealed class RotationTests
{
    private static readonly string[] Team = ["alice", "bob", "carol"];

    private static ScheduleLayer Layer(string name, string[] users, string start, int count, ShiftUnit unit, params Restriction[] restrictions) =>
        new(name, users, DateTime.Parse(start, System.Globalization.CultureInfo.InvariantCulture), new ShiftLength(count, unit), restrictions);

    private static Schedule Schedule(string zone, ScheduleLayer[] layers, params ScheduleOverride[] overrides) =>
        new("s", "Primary", zone, layers, overrides, default);

    private static DateTimeOffset At(string zone, string local)
    {
        var info = TimeZoneInfo.FindSystemTimeZoneById(zone);
        var time = DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture);
        return new DateTimeOffset(time, info.GetUtcOffset(time));
    }

    private static DateTime Local(string zone, DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById(zone)).DateTime;

    /// <summary>
    /// A fake clock walks a week across each transition a quarter hour at a time; every change of person is a handoff.
    /// Each is at 09:00 local, and the shift over the transition night is 23 h (spring) or 25 h (autumn).
    /// </summary>
    [Theory]
    [InlineData("Europe/Berlin", "2026-03-26T09:00", "2026-03-28T09:00", 23)]
    [InlineData("Europe/Berlin", "2026-10-22T09:00", "2026-10-24T09:00", 25)]
    [InlineData("America/New_York", "2026-03-05T09:00", "2026-03-07T09:00", 23)]
    [InlineData("America/New_York", "2026-10-29T09:00", "2026-10-31T09:00", 25)]
    public void A_daily_handoff_stays_at_nine_local_across_daylight_saving(string zone, string start, string acrossStarts, int acrossHours)
    {
        var schedule = Schedule(zone, [Layer("primary", Team, start, 1, ShiftUnit.Days)]);
        var clock = new FakeTimeProvider(At(zone, start)); // quarter hours from here land on every local 09:00, whatever the offset
        var handoffs = new List<(DateTimeOffset At, string User)>();
        var current = Rotation.OnCallAt(schedule, clock.GetUtcNow()).Users.Single();
        Assert.Equal("alice", current);
        var end = clock.GetUtcNow() + TimeSpan.FromDays(6.5); // six local days are 143 to 145 hours here
        while (clock.GetUtcNow() < end)
        {
            clock.Advance(TimeSpan.FromMinutes(15));
            var now = Rotation.OnCallAt(schedule, clock.GetUtcNow()).Users.Single();
            if (now != current) handoffs.Add((clock.GetUtcNow(), now));
            current = now;
        }
        Assert.Equal(6, handoffs.Count);
        Assert.All(handoffs, h => Assert.Equal(new TimeOnly(9, 0), TimeOnly.FromDateTime(Local(zone, h.At))));
        Assert.Equal(["bob", "carol", "alice", "bob", "carol", "alice"], handoffs.Select(h => h.User));
        var shifts = Rotation.Shifts(schedule, At(zone, start), At(zone, start) + TimeSpan.FromDays(6));
        var across = shifts.Single(s => Local(zone, s.Start) == DateTime.Parse(acrossStarts, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromHours(acrossHours), across.End - across.Start);
        Assert.All(shifts.Where(s => s != across && s.End - s.Start == TimeSpan.FromDays(1)), s => Assert.Equal(new TimeOnly(9, 0), TimeOnly.FromDateTime(Local(zone, s.Start))));
    }

    [Fact]
    public void A_weekly_rotation_hands_off_on_monday_at_nine_local_and_the_week_over_the_change_is_an_hour_short()
    {
        const string zone = "America/New_York";
        var schedule = Schedule(zone, [Layer("weekly", Team, "2026-03-02T09:00", 1, ShiftUnit.Weeks)]);
        var shifts = Rotation.Shifts(schedule, At(zone, "2026-03-02T09:00"), At(zone, "2026-03-23T09:00"));
        Assert.Equal(["alice", "bob", "carol"], shifts.Select(s => s.Users.Single()));
        Assert.Equal(TimeSpan.FromHours(167), shifts[0].End - shifts[0].Start);
        Assert.All(shifts, s => Assert.Equal(new DateTime(2026, 3, 2, 9, 0, 0).AddDays(7 * shifts.ToList().IndexOf(s)), Local(zone, s.Start)));
    }

    [Fact]
    public void Twelve_hour_shifts_keep_their_nine_and_twenty_one_handoffs_and_the_night_of_the_change_is_eleven_hours()
    {
        const string zone = "Europe/Berlin";
        var schedule = Schedule(zone, [Layer("halves", ["day", "night"], "2026-03-27T09:00", 12, ShiftUnit.Hours)]);
        var shifts = Rotation.Shifts(schedule, At(zone, "2026-03-27T09:00"), At(zone, "2026-03-31T09:00"));
        Assert.All(shifts, s => Assert.Contains(TimeOnly.FromDateTime(Local(zone, s.Start)), new[] { new TimeOnly(9, 0), new TimeOnly(21, 0) }));
        var night = shifts.Single(s => Local(zone, s.Start) == new DateTime(2026, 3, 28, 21, 0, 0));
        Assert.Equal("night", night.Users.Single());
        Assert.Equal(TimeSpan.FromHours(11), night.End - night.Start);
    }

    [Fact]
    public void A_handoff_at_a_time_the_clocks_skip_happens_when_they_reach_it_and_the_next_day_at_its_own_time()
    {
        const string zone = "Europe/Berlin";
        var schedule = Schedule(zone, [Layer("early", Team, "2026-03-27T02:30", 1, ShiftUnit.Days)]);
        var shifts = Rotation.Shifts(schedule, At(zone, "2026-03-27T02:30"), At(zone, "2026-03-31T02:30"));
        // 29 March 02:30 does not exist in Berlin (02:00 → 03:00): that handoff is at 03:30 CEST, 01:30 UTC.
        var skipped = shifts.Single(s => s.Users.Single() == "carol");
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.Zero), skipped.Start);
        Assert.Equal(new DateTime(2026, 3, 30, 2, 30, 0), Local(zone, skipped.End));
    }

    [Fact]
    public void The_higher_layer_wins_where_it_is_on_and_the_lower_covers_the_rest()
    {
        const string zone = "Europe/Berlin";
        string[] weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
        var business = new Restriction([.. weekdays.Select(Enum.Parse<DayOfWeek>)], new TimeOnly(9, 0), new TimeOnly(17, 0));
        var schedule = Schedule(zone, [
            Layer("nights", ["nora"], "2026-03-02T00:00", 1, ShiftUnit.Weeks),
            Layer("days", ["dan", "dora"], "2026-03-02T09:00", 1, ShiftUnit.Days, business),
        ]);
        (string, string)[] expected =
        [
            ("2026-03-02T08:59", "nora"), ("2026-03-02T09:00", "dan"), ("2026-03-02T16:59", "dan"), ("2026-03-02T17:00", "nora"),
            ("2026-03-03T10:00", "dora"), ("2026-03-07T10:00", "nora"), ("2026-03-09T10:00", "dora"),
        ];
        foreach (var (local, user) in expected)
        {
            var (users, source) = Rotation.OnCallAt(schedule, At(zone, local));
            Assert.True(users.SequenceEqual([user]), $"{local}: {string.Join(",", users)} from {source}, expected {user}");
        }
        Assert.Equal("days", Rotation.OnCallAt(schedule, At(zone, "2026-03-02T10:00")).Source);
        Assert.Empty(Rotation.Gaps(schedule, At(zone, "2026-03-02T00:00"), At(zone, "2026-03-16T00:00")));

        // Alone, the weekday layer leaves the nights and the weekends uncovered.
        var daysOnly = schedule with { Layers = [schedule.Layers[1]] };
        var gaps = Rotation.Gaps(daysOnly, At(zone, "2026-03-02T09:00"), At(zone, "2026-03-09T09:00"));
        Assert.Equal(5, gaps.Count); // four nights and the weekend (Friday 17:00 to Monday 09:00)
        Assert.Equal(TimeSpan.FromHours(64), gaps[^1].End - gaps[^1].Start);
    }

    [Fact]
    public void A_window_past_midnight_belongs_to_the_day_it_opens()
    {
        const string zone = "UTC";
        var fridayNights = new Restriction([DayOfWeek.Friday], new TimeOnly(22, 0), new TimeOnly(6, 0));
        var schedule = Schedule(zone, [Layer("late", ["lee"], "2026-03-02T00:00", 1, ShiftUnit.Weeks, fridayNights)]);
        Assert.Equal(["lee"], Rotation.OnCallAt(schedule, At(zone, "2026-03-06T23:00")).Users);
        Assert.Equal(["lee"], Rotation.OnCallAt(schedule, At(zone, "2026-03-07T05:59")).Users);
        Assert.Empty(Rotation.OnCallAt(schedule, At(zone, "2026-03-07T06:00")).Users);
        Assert.Empty(Rotation.OnCallAt(schedule, At(zone, "2026-03-05T23:00")).Users); // Thursday night
        Assert.Empty(Rotation.OnCallAt(schedule, At(zone, "2026-03-06T05:00")).Users); // Friday early: Thursday's window, and Thursday has none
    }

    [Fact]
    public void An_override_replaces_one_person_or_joins_the_shift_and_is_a_shift_of_its_own()
    {
        const string zone = "UTC";
        var schedule = Schedule(zone, [Layer("primary", Team, "2026-03-02T09:00", 1, ShiftUnit.Days)],
            new ScheduleOverride("o1", "zoe", At(zone, "2026-03-02T12:00"), At(zone, "2026-03-02T14:00"), Replaces: "alice"),
            new ScheduleOverride("o2", "yan", At(zone, "2026-03-03T12:00"), At(zone, "2026-03-03T13:00"), Replaces: null),
            new ScheduleOverride("o3", "xia", At(zone, "2026-03-03T12:00"), At(zone, "2026-03-03T13:00"), Replaces: "alice")); // alice is not on then
        var replaced = Rotation.OnCallAt(schedule, At(zone, "2026-03-02T12:30"));
        Assert.Equal(["zoe"], replaced.Users);
        Assert.Equal("override", replaced.Source);
        Assert.Equal(["alice"], Rotation.OnCallAt(schedule, At(zone, "2026-03-02T14:00")).Users);
        Assert.Equal(["bob", "yan"], Rotation.OnCallAt(schedule, At(zone, "2026-03-03T12:30")).Users);
        var shifts = Rotation.Shifts(schedule, At(zone, "2026-03-02T09:00"), At(zone, "2026-03-03T09:00"));
        Assert.Equal(["alice", "zoe", "alice"], shifts.Select(s => s.Users.Single()));
        Assert.Equal(["primary", "override", "primary"], shifts.Select(s => s.Source));
        Assert.Equal(At(zone, "2026-03-02T12:00"), shifts[1].Start);
        Assert.Equal(At(zone, "2026-03-02T14:00"), shifts[1].End);
    }

    [Fact]
    public void Before_its_first_handoff_a_layer_has_nobody()
    {
        var schedule = Schedule("UTC", [Layer("primary", Team, "2026-03-02T09:00", 1, ShiftUnit.Days)]);
        Assert.Empty(Rotation.OnCallAt(schedule, At("UTC", "2026-03-02T08:59")).Users);
        var shifts = Rotation.Shifts(schedule, At("UTC", "2026-03-01T00:00"), At("UTC", "2026-03-03T00:00"));
        Assert.Equal([0, 1], shifts.Select(s => s.Users.Length));
        Assert.Equal(At("UTC", "2026-03-02T09:00"), shifts[1].Start);
    }

    public static TheoryData<string, Func<Schedule, Schedule>, string> BadSchedules => new()
    {
        { "a time zone that does not exist", s => s with { TimeZone = "Europe/Atlantis" }, "timeZone" },
        { "a shift length of 0", s => s with { Layers = [s.Layers[0] with { Shift = new ShiftLength(0, ShiftUnit.Days) }] }, "layers[0].shift.count" },
        { "a layer without users", s => s with { Layers = [s.Layers[0] with { Users = [] }] }, "layers[0].users" },
        { "a restriction that never matches", s => s with { Layers = [s.Layers[0] with { Restrictions = [new([DayOfWeek.Monday], new(9, 0), new(9, 0))] }] }, "layers[0].restrictions[0]" },
        { "a restriction with no day", s => s with { Layers = [s.Layers[0] with { Restrictions = [new([], new(9, 0), new(17, 0))] }] }, "layers[0].restrictions[0].days" },
        { "no layer", s => s with { Layers = [] }, "layers" },
        { "two layers of one name", s => s with { Layers = [s.Layers[0], s.Layers[0]] }, "layers[1].name" },
        { "an override that ends before it starts", s => s with { Overrides = [new("o", "zoe", At("UTC", "2026-03-02T12:00"), At("UTC", "2026-03-02T11:00"), null)] }, "overrides[0].end" },
        { "overlapping overrides of the same person", s => s with { Overrides = [
            new("o1", "zoe", At("UTC", "2026-03-02T12:00"), At("UTC", "2026-03-02T14:00"), null),
            new("o2", "zoe", At("UTC", "2026-03-02T13:00"), At("UTC", "2026-03-02T15:00"), "alice")] }, "overrides[1]" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public void A_schedule_that_cannot_be_right_is_refused_naming_the_field(string what, Func<Schedule, Schedule> spoil, string field)
    {
        var good = Schedule("UTC", [Layer("primary", Team, "2026-03-02T09:00", 1, ShiftUnit.Days)],
            new ScheduleOverride("o1", "zoe", At("UTC", "2026-03-02T12:00"), At("UTC", "2026-03-02T14:00"), null),
            new ScheduleOverride("o2", "zoe", At("UTC", "2026-03-02T14:00"), At("UTC", "2026-03-02T15:00"), null)); // touching, not overlapping
        Assert.Empty(Rotation.Check(good));
        var errors = Rotation.Check(spoil(good));
        Assert.True(errors.Any(e => e.Field == field), $"{what}: {string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}"))}");
    }
}
