using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Heartbeats;

namespace Monitoring.Api.Contracts;

/// <summary>A heartbeat check as written: a period (or a cron expression and its time zone), a grace, labels.</summary>
public sealed record HeartbeatRequest(
    string? Id, string? Name, Dictionary<string, string>? Labels, string? Period, string? Cron, string? TimeZone, string? Grace, string? StartGrace)
{
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromMinutes(5);

    public HeartbeatCheck? ToCheck(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (Name is { Length: > 200 }) errors.Add("name", "is at most 200 characters");
        LabelRules.Check(Labels, "labels", errors);
        if (Labels is not null && (Labels.ContainsKey("alertname") || Labels.ContainsKey("heartbeat"))) errors.Add("labels", "'alertname' and 'heartbeat' are the alert's own labels; choose other names");
        TimeSpan? period = null, startGrace = null;
        var grace = DefaultGrace;
        if (Period is not null)
        {
            if (Durations.TryParse(Period, out var p, out var error)) period = p;
            else errors.Add("period", error);
        }
        if (Cron is { Length: > 100 }) errors.Add("cron", "is at most 100 characters");
        if (TimeZone is { Length: > 64 }) errors.Add("timeZone", "is at most 64 characters");
        if (Grace is not null && !Durations.TryParse(Grace, out grace, out var graceError)) errors.Add("grace", graceError);
        if (StartGrace is not null)
        {
            if (Durations.TryParse(StartGrace, out var s, out var error)) startGrace = s;
            else errors.Add("startGrace", error);
        }
        // What makes a check right (one schedule, the cron, the zone, bounds) is checked where it is stored, by its grain.
        return errors.Any ? null : new HeartbeatCheck(id!, Name ?? id!, Labels ?? [], period, Cron, TimeZone ?? "UTC", grace, startGrace, default);
    }
}

public sealed record PingResponse(DateTimeOffset At, string Kind, int? ExitCode, string? Log)
{
    public static PingResponse From(HeartbeatPing p) => new(p.At, p.Kind.ToString().ToLowerInvariant(), p.ExitCode, p.Log);
}

/// <summary>A check, what its pings made of it, and (only when it is made, or its URL rotated) its ping URL.</summary>
public sealed record HeartbeatResponse(
    string Id, string Name, Dictionary<string, string> Labels, string? Period, string? Cron, string TimeZone, string Grace, string? StartGrace,
    string Status, bool Paused, PingResponse? LastPing, DateTimeOffset? NextExpectedAt, DateTimeOffset? DownAt, DateTimeOffset UpdatedAt, string? PingUrl = null)
{
    public PingResponse[]? Pings { get; init; }

    public static HeartbeatResponse From(HeartbeatView v, bool withPings = false) => new(
        v.Check.Id, v.Check.Name, v.Check.Labels, v.Check.Period is { } p ? Durations.Format(p) : null, v.Check.Cron, v.Check.TimeZone,
        Durations.Format(v.Check.Grace), v.Check.StartGrace is { } s ? Durations.Format(s) : null, v.Status.ToString().ToLowerInvariant(), v.Paused,
        v.LastPing is { } last ? PingResponse.From(last) : null, v.NextExpectedAt, v.DownAt, v.Check.UpdatedAt)
    {
        Pings = withPings ? [.. v.Pings.Reverse().Select(PingResponse.From)] : null,
    };
}
