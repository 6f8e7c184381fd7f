namespace Monitoring.Routing;

/// <summary>Whether a moment falls in a recurring window, in the window's time zone (Alertmanager's time_intervals).</summary>
public static class TimeIntervals
{
    public static bool Contains(TimeInterval interval, DateTimeOffset at)
    {
        var zone = Zone(interval.Location);
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return interval.Ranges.Any(range => Contains(range, local));
    }

    public static TimeZoneInfo Zone(string location) =>
        location switch
        {
            "" or "UTC" => TimeZoneInfo.Utc,
            "Local" => TimeZoneInfo.Local,
            _ => TimeZoneInfo.FindSystemTimeZoneById(location),
        };

    public static bool TryZone(string location, out string error)
    {
        error = "";
        try
        {
            Zone(location);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"'{(location.Length <= 64 ? location : location[..64] + "…")}' is not a known time zone (an IANA name such as Europe/Berlin, or UTC)";
            return false;
        }
    }

    private static bool Contains(TimeRangeSet range, DateTimeOffset local)
    {
        var minute = local.Hour * 60 + local.Minute;
        if (range.Times.Length > 0 && !range.Times.Any(t => t.From <= minute && minute < t.To)) return false;
        if (range.Weekdays.Length > 0 && !range.Weekdays.Any(w => w.From <= (int)local.DayOfWeek && (int)local.DayOfWeek <= w.To)) return false;
        if (range.Months.Length > 0 && !range.Months.Any(m => m.From <= local.Month && local.Month <= m.To)) return false;
        if (range.Years.Length > 0 && !range.Years.Any(y => y.From <= local.Year && local.Year <= y.To)) return false;
        if (range.DaysOfMonth.Length > 0)
        {
            var days = DateTime.DaysInMonth(local.Year, local.Month);
            int Day(int d) => d < 0 ? days + d + 1 : d;
            if (!range.DaysOfMonth.Any(d => Day(d.From) <= local.Day && local.Day <= Day(d.To))) return false;
        }
        return true;
    }
}
