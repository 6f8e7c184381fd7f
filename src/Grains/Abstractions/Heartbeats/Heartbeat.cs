using Monitoring.Common;

namespace Monitoring.Heartbeats;

/// <summary>
/// Something that cannot be probed and must say it ran instead: a batch job, an agent on a timer, a collector that
/// should be sending. It pings its secret URL; a ping that does not come in time (after <see cref="Grace"/>), or a
/// failure it reports, fires an ordinary alert. Expected every <see cref="Period"/>, or at each time of
/// <see cref="Cron"/> in <see cref="TimeZone"/>; with a <see cref="StartGrace"/>, a check that never pinged is down
/// that long after it was made (without one, a new check waits for its first ping).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.HeartbeatCheck")]
public sealed record HeartbeatCheck(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(3), JsonPropertyName("Period")] TimeSpan? Period,
    [property: Id(4), JsonPropertyName("Cron")] string? Cron,
    [property: Id(5), JsonPropertyName("TimeZone")] string TimeZone,
    [property: Id(6), JsonPropertyName("Grace")] TimeSpan Grace,
    [property: Id(7), JsonPropertyName("StartGrace")] TimeSpan? StartGrace,
    [property: Id(8), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    public static readonly TimeSpan MinPeriod = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);
    public static readonly TimeSpan MaxGrace = TimeSpan.FromDays(30);

    /// <summary>The most a ping's body keeps (its first bytes): the last run's log, shown with the check.</summary>
    public const int MaxLogLength = 1_000;

    /// <summary>The most a ping's body may be: larger is refused (413).</summary>
    public const int MaxBodyBytes = 10_000;
}

[JsonConverter(typeof(JsonStringEnumConverter<HeartbeatStatus>))]
public enum HeartbeatStatus
{
    /// <summary>Made, not yet pinged, and not expected yet.</summary>
    New,

    /// <summary>Its last ping was a success, and the next is not due yet.</summary>
    Up,

    /// <summary>The next ping is overdue, within its grace: shown, not yet paged.</summary>
    Late,

    /// <summary>Overdue past its grace, or its last ping reported a failure: its alert fires.</summary>
    Down,

    /// <summary>Paused: no alert, whatever the pings do, until resumed (or pinged).</summary>
    Paused,
}

[JsonConverter(typeof(JsonStringEnumConverter<PingKind>))]
public enum PingKind
{
    Success,
    Start,
    Fail,
}

/// <summary>One ping as received: what it said, when, the exit code when one was given, and the start of its body.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HeartbeatPing")]
public sealed record HeartbeatPing(
    [property: Id(0), JsonPropertyName("At")] DateTimeOffset At,
    [property: Id(1), JsonPropertyName("Kind")] PingKind Kind,
    [property: Id(2), JsonPropertyName("ExitCode")] int? ExitCode,
    [property: Id(3), JsonPropertyName("Log")] string? Log);

/// <summary>A check with what its pings made of it: status, last ping, when the next is expected, and when it goes down.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HeartbeatView")]
public sealed record HeartbeatView(
    [property: Id(0), JsonPropertyName("Check")] HeartbeatCheck Check,
    [property: Id(1), JsonPropertyName("Status")] HeartbeatStatus Status,
    [property: Id(2), JsonPropertyName("LastPing")] HeartbeatPing? LastPing,
    [property: Id(3), JsonPropertyName("NextExpectedAt")] DateTimeOffset? NextExpectedAt,
    [property: Id(4), JsonPropertyName("DownAt")] DateTimeOffset? DownAt,
    [property: Id(5), JsonPropertyName("Paused")] bool Paused,
    [property: Id(6), JsonPropertyName("Pings")] HeartbeatPing[] Pings);

/// <summary>A ping URL just made: its token, never stored and never shown again.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HeartbeatToken")]
public sealed record HeartbeatToken([property: Id(0)] string Token);

/// <summary>One heartbeat check: its definition, its pings, and the alert it raises.</summary>
[Alias("mcp.IHeartbeatGrain")]
public interface IHeartbeatGrain : IGrainWithStringKey
{
    /// <summary>Makes the check and its first ping URL (the token, shown once).</summary>
    Task<(WriteResult Result, HeartbeatToken? Token)> CreateAsync(HeartbeatCheck check);

    Task<WriteResult> UpdateAsync(HeartbeatCheck check);

    /// <summary>Deletes the check: its ping URL stops working and its alert, if firing, resolves.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<HeartbeatView?> GetAsync();

    /// <summary>A ping by its URL; false when the check is gone.</summary>
    Task<bool> PingAsync(PingKind kind, int? exitCode, string? log);

    Task<WriteResult> PauseAsync(bool paused);

    /// <summary>A new ping URL; the old one stops working at once.</summary>
    Task<(WriteResult Result, HeartbeatToken? Token)> RotateTokenAsync();
}

/// <summary>One ping URL, keyed by its token's hash: the check it pings (null once revoked or unknown).</summary>
[Alias("mcp.IHeartbeatTokenGrain")]
public interface IHeartbeatTokenGrain : IGrainWithStringKey
{
    Task OpenAsync(string checkId);

    Task RevokeAsync();

    [AlwaysInterleave]
    Task<string?> CheckIdAsync();
}

/// <summary>Where a ping URL's token is kept: by the hex SHA-256 of the token, never the token.</summary>
public static class HeartbeatGrainKeys
{
    public static string TokenHash(string token) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
}
