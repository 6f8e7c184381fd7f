using Monitoring.Common;
using NodaTime;
using NodaTime.Utility;

namespace Monitoring.OnCall;

/// <summary>
/// Who is on call, as a pure function of a schedule and an instant. Shifts are counted on the schedule's wall clock
/// (NodaTime's local date-times), then placed in its zone: a daily 09:00 handoff stays 09:00 local across daylight
/// saving, so the shift over a spring-forward night is 23 hours long and the one over a fall-back night 25. A handoff
/// at a local time the clocks skip happens when the clocks reach it again (02:30 on a spring-forward night is 03:30),
/// and one at a time that occurs twice happens the first time.
/// </summary>
public static class Rotation
{
    public static readonly TimeSpan MaxSpan = ScheduleLimits.MaxSpan;

    public const string OverrideSource = ScheduleLimits.OverrideSource;

    /// <summary>How far back "since" and forward "until" and "next" look: a stretch longer than this says so by its bound.</summary>
    private static readonly TimeSpan LookBack = TimeSpan.FromDays(35);
    private static readonly TimeSpan LookAhead = TimeSpan.FromDays(90);

    /// <summary>Who is on call at a moment, since and until when, and who is next.</summary>
    public static OnCallAnswer Answer(Schedule schedule, DateTimeOffset at)
    {
        var before = Shifts(schedule, at - LookBack, at);
        var after = Shifts(schedule, at, at + LookAhead);
        var now = after.Count > 0 ? after[0] : null;
        var since = before.Count > 0 && now is not null && before[^1].Source == now.Source && before[^1].Users.SequenceEqual(now.Users) ? before[^1].Start : now?.Start;
        return new OnCallAnswer(schedule.Id, schedule.Name, at, now?.Users ?? [], now?.Source ?? "", since, after.Count > 1 ? now?.End : null, after.Count > 1 ? after[1] : null);
    }

    /// <summary>The people on call at <paramref name="at"/> (none in a gap), in order, and the layer or override they come from.</summary>
    public static (string[] Users, string Source) OnCallAt(Schedule schedule, DateTimeOffset at)
    {
        var zone = Zone(schedule);
        var instant = Instant.FromDateTimeOffset(at);
        var local = instant.InZone(zone).LocalDateTime;
        string[] users = [];
        var source = "";
        for (var i = schedule.Layers.Length - 1; i >= 0; i--)
        {
            var layer = schedule.Layers[i];
            if (TurnAt(layer, local) is { } turn && IsOn(layer, local))
            {
                users = [layer.Users[turn.Index]];
                source = layer.Name;
                break;
            }
        }
        foreach (var o in schedule.Overrides.Where(o => o.Start <= at && at < o.End).OrderBy(o => o.Start))
        {
            if (o.Replaces is { } replaced)
            {
                var index = Array.IndexOf(users, replaced);
                if (index < 0) continue;
                users = [.. users.Select((u, j) => j == index ? o.User : u).Distinct(StringComparer.Ordinal)];
            }
            else if (!users.Contains(o.User, StringComparer.Ordinal))
            {
                users = [.. users, o.User];
            }
            source = OverrideSource;
        }
        return (users, source);
    }

    /// <summary>
    /// The stretches from <paramref name="from"/> to <paramref name="to"/> with the same people on call, gaps included
    /// (no users), in order and touching: each layer's handoffs, its restrictions' edges and the overrides' edges cut them.
    /// </summary>
    public static IReadOnlyList<Shift> Shifts(Schedule schedule, DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from) return [];
        if (to - from > MaxSpan) throw new ArgumentOutOfRangeException(nameof(to), $"at most {MaxSpan.TotalDays} days at once");
        var zone = Zone(schedule);
        var edges = new SortedSet<DateTimeOffset> { from, to };
        var first = Instant.FromDateTimeOffset(from).InZone(zone).LocalDateTime;
        var last = Instant.FromDateTimeOffset(to).InZone(zone).LocalDateTime;
        foreach (var layer in schedule.Layers)
        {
            var start = LocalDateTime.FromDateTime(layer.Start);
            var hours = layer.Shift.Hours;
            var k = Math.Max(0, TurnAt(layer, first)?.Number ?? 0);
            for (var at = start.PlusHours(k * hours); at <= last; at = start.PlusHours(++k * hours))
            {
                Add(edges, zone, at, from, to);
            }
            foreach (var restriction in layer.Restrictions)
            {
                for (var day = first.Date.PlusDays(-1); day <= last.Date; day = day.PlusDays(1))
                {
                    if (!restriction.Days.Contains(BclConversions.ToDayOfWeek(day.DayOfWeek))) continue;
                    var opens = day + LocalTime.FromTimeOnly(restriction.From);
                    var closes = (restriction.To > restriction.From ? day : day.PlusDays(1)) + LocalTime.FromTimeOnly(restriction.To);
                    Add(edges, zone, opens, from, to);
                    Add(edges, zone, closes, from, to);
                }
            }
        }
        foreach (var o in schedule.Overrides)
        {
            if (o.Start > from && o.Start < to) edges.Add(o.Start);
            if (o.End > from && o.End < to) edges.Add(o.End);
        }
        var shifts = new List<Shift>();
        var list = edges.ToArray();
        for (var i = 0; i < list.Length - 1; i++)
        {
            var (users, source) = OnCallAt(schedule, list[i]);
            if (shifts.Count > 0 && shifts[^1] is var previous && previous.Source == source && previous.Users.SequenceEqual(users, StringComparer.Ordinal))
            {
                shifts[^1] = previous with { End = list[i + 1] };
            }
            else
            {
                shifts.Add(new Shift(list[i], list[i + 1], users, source));
            }
        }
        return shifts;
    }

    /// <summary>The stretches from <paramref name="from"/> to <paramref name="to"/> when nobody is on call.</summary>
    public static IReadOnlyList<Shift> Gaps(Schedule schedule, DateTimeOffset from, DateTimeOffset to) =>
        [.. Shifts(schedule, from, to).Where(s => s.Users.Length == 0)];

    /// <summary>What a schedule says that cannot be right: each a field and why. Users are checked by who stores it.</summary>
    public static FieldError[] Check(Schedule schedule)
    {
        var errors = new List<FieldError>();
        if (string.IsNullOrWhiteSpace(schedule.Name)) errors.Add(new("name", "is required"));
        if (DateTimeZoneProviders.Tzdb.GetZoneOrNull(schedule.TimeZone ?? "") is null)
        {
            errors.Add(new("timeZone", $"'{schedule.TimeZone}' is not a time zone of the IANA database (for example Europe/Berlin, America/New_York, UTC)"));
        }
        if (schedule.Layers.Length == 0) errors.Add(new("layers", "a schedule needs at least one layer"));
        for (var i = 0; i < schedule.Layers.Length; i++)
        {
            var layer = schedule.Layers[i];
            var at = $"layers[{i}]";
            if (string.IsNullOrWhiteSpace(layer.Name)) errors.Add(new($"{at}.name", "is required"));
            else if (layer.Name == OverrideSource) errors.Add(new($"{at}.name", $"'{OverrideSource}' names overrides; choose another name"));
            if (schedule.Layers.Take(i).Any(l => l.Name == layer.Name)) errors.Add(new($"{at}.name", $"'{layer.Name}' names another layer too"));
            if (layer.Users.Length == 0) errors.Add(new($"{at}.users", "a layer needs at least one user"));
            if (layer.Shift.Count <= 0) errors.Add(new($"{at}.shift.count", $"must be at least 1; it is {layer.Shift.Count}"));
            else if (layer.Shift.Hours > 24 * 7 * 52) errors.Add(new($"{at}.shift", "must be at most 52 weeks"));
            if (!Enum.IsDefined(layer.Shift.Unit)) errors.Add(new($"{at}.shift.unit", "must be hours, days or weeks"));
            for (var r = 0; r < layer.Restrictions.Length; r++)
            {
                var restriction = layer.Restrictions[r];
                if (restriction.Days.Length == 0) errors.Add(new($"{at}.restrictions[{r}].days", "names no day, so the layer would never be on; name at least one"));
                if (restriction.From == restriction.To) errors.Add(new($"{at}.restrictions[{r}]", $"from and to are both {restriction.From:HH\\:mm}, so the window never matches"));
            }
        }
        for (var i = 0; i < schedule.Overrides.Length; i++)
        {
            var o = schedule.Overrides[i];
            var at = $"overrides[{i}]";
            if (o.End <= o.Start) errors.Add(new($"{at}.end", "must be after its start"));
            if (string.IsNullOrWhiteSpace(o.User)) errors.Add(new($"{at}.user", "is required"));
            if (o.Replaces == o.User) errors.Add(new($"{at}.replaces", "a person cannot replace themselves"));
            for (var j = 0; j < i; j++)
            {
                var other = schedule.Overrides[j];
                if (other.User == o.User && other.Start < o.End && o.Start < other.End)
                {
                    errors.Add(new(at, $"overlaps overrides[{j}] ('{other.Id}') of the same person, {o.User}"));
                }
                if (other.Id == o.Id) errors.Add(new($"{at}.id", $"'{o.Id}' names overrides[{j}] too"));
            }
        }
        return [.. errors];
    }

    private static DateTimeZone Zone(Schedule schedule) => DateTimeZoneProviders.Tzdb[schedule.TimeZone];

    /// <summary>The turn a layer is in at a local time: its number from the layer's start, and whose it is; null before the start.</summary>
    private static (long Number, int Index)? TurnAt(ScheduleLayer layer, LocalDateTime local)
    {
        var start = LocalDateTime.FromDateTime(layer.Start);
        if (local < start || layer.Users.Length == 0 || layer.Shift.Hours <= 0) return null;
        var number = Period.Between(start, local, PeriodUnits.Hours).Hours / layer.Shift.Hours;
        return (number, (int)(number % layer.Users.Length));
    }

    /// <summary>Whether a layer is on at a local time: always without restrictions, else inside one of their windows.</summary>
    private static bool IsOn(ScheduleLayer layer, LocalDateTime local)
    {
        if (layer.Restrictions.Length == 0) return true;
        var day = BclConversions.ToDayOfWeek(local.DayOfWeek);
        var yesterday = BclConversions.ToDayOfWeek(local.Date.PlusDays(-1).DayOfWeek);
        var time = local.TimeOfDay.ToTimeOnly();
        foreach (var r in layer.Restrictions)
        {
            if (r.From < r.To)
            {
                if (r.Days.Contains(day) && time >= r.From && time < r.To) return true;
            }
            else if ((r.Days.Contains(day) && time >= r.From) || (r.Days.Contains(yesterday) && time < r.To))
            {
                return true;
            }
        }
        return false;
    }

    private static void Add(SortedSet<DateTimeOffset> edges, DateTimeZone zone, LocalDateTime local, DateTimeOffset from, DateTimeOffset to)
    {
        var at = zone.AtLeniently(local).ToDateTimeOffset();
        if (at > from && at < to) edges.Add(at);
    }
}
