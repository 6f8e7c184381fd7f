using Cronos;
using Monitoring.Common;

namespace Monitoring.Heartbeats;

/// <summary>What a check's pings add up to at one moment: its status, when the next ping is expected, and when it goes down.</summary>
public sealed record HeartbeatReading(HeartbeatStatus Status, DateTimeOffset? NextExpectedAt, DateTimeOffset? DownAt, string Why)
{
    /// <summary>The next moment the reading can change by time alone, or null.</summary>
    public DateTimeOffset? NextChangeAfter(DateTimeOffset now) =>
        new[] { NextExpectedAt, DownAt }.Where(t => t is { } at && at > now).Min();
}

/// <summary>
/// The rules of a heartbeat, with no grain and no clock of its own (table-tested): a success is expected a period after
/// the last one, or at the next time of the cron expression after it, in the check's time zone (Cronos, daylight-saving
/// aware); past that it is late, and past the grace too it is down. A reported failure (or a non-zero exit code) is
/// down at once, until the next success. A start signal with no success within the grace after it is down too. A check
/// that never succeeded is new, unless it has a start grace: then it is expected that long after it was made.
/// </summary>
public static class HeartbeatClock
{
    public static HeartbeatReading Read(HeartbeatCheck check, DateTimeOffset createdAt, HeartbeatPing? lastSuccess, HeartbeatPing? last, bool paused, DateTimeOffset now)
    {
        if (paused) return new(HeartbeatStatus.Paused, null, null, "paused");
        if (last is { Kind: PingKind.Fail } failed)
        {
            return new(HeartbeatStatus.Down, null, failed.At, failed.ExitCode is { } code ? $"it reported a failure (exit code {code}) at {failed.At:u}" : $"it reported a failure at {failed.At:u}");
        }
        DateTimeOffset? expected = lastSuccess is { } success ? NextAfter(check, success.At)
            : check.StartGrace is { } startGrace ? createdAt + startGrace
            : null;
        DateTimeOffset? down = expected + check.Grace;
        var started = last is { Kind: PingKind.Start } start ? start.At : (DateTimeOffset?)null;
        if (started is { } s && (down is null || s + check.Grace < down)) down = s + check.Grace;
        if (down is { } d && now >= d)
        {
            var why = started is { } st && st + check.Grace == d
                ? $"it started at {st:u} and did not finish within {Durations.Format(check.Grace)}"
                : lastSuccess is { } ok ? $"no ping since {ok.At:u}; expected by {expected:u}, {Durations.Format(check.Grace)} of grace"
                : $"no ping since it was made at {createdAt:u}; expected by {expected:u}";
            return new(HeartbeatStatus.Down, expected, d, why);
        }
        if (expected is { } e && now >= e) return new(HeartbeatStatus.Late, expected, down, $"expected by {e:u}; in its grace until {down:u}");
        if (lastSuccess is null) return new(HeartbeatStatus.New, expected, down, "not pinged yet");
        return new(HeartbeatStatus.Up, expected, down, started is null ? "up" : $"running since {started:u}");
    }

    /// <summary>When the ping after one at <paramref name="at"/> is expected.</summary>
    public static DateTimeOffset? NextAfter(HeartbeatCheck check, DateTimeOffset at)
    {
        if (check.Period is { } period) return at + period;
        if (check.Cron is not { } cron || !TryParse(cron, out var expression, out _)) return null;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(check.TimeZone);
        return expression!.GetNextOccurrence(at, zone);
    }

    /// <summary>A cron expression of five fields (minute hour day month weekday), or six with seconds first.</summary>
    public static bool TryParse(string text, out CronExpression? expression, out string? error)
    {
        expression = null;
        error = null;
        try
        {
            var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            expression = CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            return true;
        }
        catch (CronFormatException e)
        {
            error = $"'{text}' is not a cron expression: {e.Message}";
            return false;
        }
    }

    /// <summary>What makes a check wrong: a schedule of neither or both kinds, a cron that does not parse, an unknown zone, bounds.</summary>
    public static FieldError[] Check(HeartbeatCheck check)
    {
        var errors = new List<FieldError>();
        if (check.Period is null == check.Cron is null) errors.Add(new("period", "give either period (every 10m, 1h, 1d) or cron (with a timeZone), not both or neither"));
        if (check.Period is { } period && (period < HeartbeatCheck.MinPeriod || period > HeartbeatCheck.MaxPeriod))
        {
            errors.Add(new("period", $"must be from {Durations.Format(HeartbeatCheck.MinPeriod)} to {Durations.Format(HeartbeatCheck.MaxPeriod)}"));
        }
        if (check.Cron is { } cron && !TryParse(cron, out _, out var error)) errors.Add(new("cron", error!));
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(check.TimeZone, out _) || NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(check.TimeZone) is null)
        {
            errors.Add(new("timeZone", $"'{check.TimeZone}' is not a time zone of the IANA database (for example Europe/Berlin)"));
        }
        if (check.Grace < TimeSpan.Zero || check.Grace > HeartbeatCheck.MaxGrace) errors.Add(new("grace", $"must be from 0s to {Durations.Format(HeartbeatCheck.MaxGrace)}"));
        if (check.StartGrace is { } start && (start <= TimeSpan.Zero || start > HeartbeatCheck.MaxPeriod)) errors.Add(new("startGrace", $"must be more than 0s and at most {Durations.Format(HeartbeatCheck.MaxPeriod)}"));
        return [.. errors];
    }
}
