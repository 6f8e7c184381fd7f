namespace Monitoring.Servers;

/// <summary>How an active check ended. Failures are classified so "down" is never confused with "misconfigured".</summary>
public enum CheckOutcome
{
    Ok,
    ConnectionRefused,
    Dns,
    Tls,
    Timeout,
    /// <summary>HTTP 401 or 403: the server is there, our credentials are not accepted. Not "down".</summary>
    Unauthorized,
    /// <summary>Any other non-success HTTP status.</summary>
    HttpError,
    /// <summary>The server answered, but not with what the protocol or format requires (HTML, garbage, a JSON-RPC error).</summary>
    ProtocolError,
    /// <summary>The reply passed the size limit.</summary>
    TooLarge,
    /// <summary>The target is not an absolute http(s) URL.</summary>
    InvalidTarget,
    /// <summary>A network failure none of the above names (connection reset, unreachable network).</summary>
    NetworkError,
    /// <summary>The outbound policy refused the target's address (link-local, loopback, private or denied).</summary>
    Blocked,
}

/// <summary>Outcome names as the API, logs and metrics spell them.</summary>
public static class CheckOutcomes
{
    public static string Label(this CheckOutcome outcome) => outcome switch
    {
        CheckOutcome.Ok => "ok",
        CheckOutcome.ConnectionRefused => "connection_refused",
        CheckOutcome.Dns => "dns",
        CheckOutcome.Tls => "tls",
        CheckOutcome.Timeout => "timeout",
        CheckOutcome.Unauthorized => "unauthorized",
        CheckOutcome.HttpError => "http_error",
        CheckOutcome.ProtocolError => "protocol_error",
        CheckOutcome.TooLarge => "too_large",
        CheckOutcome.InvalidTarget => "invalid_target",
        CheckOutcome.Blocked => "blocked",
        _ => "network_error",
    };
}

public enum HealthState { Healthy, Degraded, Unhealthy, Unknown }

/// <summary>One MCP protocol probe: liveness (ping or server/discover) and tools/list.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ProbeResult")]
public sealed record ProbeResult(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] CheckOutcome Outcome,
    [property: Id(2)] double LatencySeconds,
    [property: Id(3)] string? ProtocolVersion,
    [property: Id(4)] string? ServerName,
    [property: Id(5)] string? ServerVersion,
    [property: Id(6)] string[]? Tools,
    [property: Id(7)] int? HttpStatus,
    [property: Id(8)] string? Error,
    [property: Id(9)] bool SessionReused,
    [property: Id(10)] string? LivenessMethod)
{
    /// <summary>Reachable and speaking MCP. An auth refusal means reachable but not usable, and is not "up".</summary>
    public bool Up => Outcome == CheckOutcome.Ok;

    /// <summary>The transport, endpoint and revision that worked, remembered so the next probe goes straight there.</summary>
    [Id(11)] public ProbeEra? Era { get; init; }
}

/// <summary>Cumulative counters read from one scrape, before any rate is derived.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ScrapedCounters")]
public sealed record ScrapedCounters(
    [property: Id(0)] double? Requests,
    [property: Id(1)] double? RequestErrors,
    [property: Id(2)] double? ToolExecutions,
    [property: Id(3)] double? ToolErrors,
    [property: Id(4)] double[] BucketBounds,
    [property: Id(5)] double[] BucketCounts,
    [property: Id(6)] double? DurationSum,
    [property: Id(7)] double? DurationCount,
    [property: Id(8)] double? ActiveConnections,
    [property: Id(9)] double? CpuUsagePercent,
    [property: Id(10)] double? MemoryUsageBytes,
    [property: Id(11)] string? DurationFamily);

/// <summary>One Prometheus scrape of the server's metrics URL.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ScrapeResult")]
public sealed record ScrapeResult(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] CheckOutcome Outcome,
    [property: Id(2)] double DurationSeconds,
    [property: Id(3)] int Samples,
    [property: Id(4)] int? HttpStatus,
    [property: Id(5)] string? Error)
{
    [Id(6)] public ScrapedCounters? Counters { get; init; }
}

/// <summary>One read of the server's own health report (the seed's shape).</summary>
[GenerateSerializer, Immutable, Alias("mcp.HealthReportResult")]
public sealed record HealthReportResult(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] CheckOutcome Outcome,
    [property: Id(2)] HealthState Reported,
    [property: Id(3)] string[] FailingChecks,
    [property: Id(4)] int? HttpStatus,
    [property: Id(5)] string? Error);

/// <summary>Everything one round of active checks found.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ActiveCheckResult")]
public sealed record ActiveCheckResult(
    [property: Id(0)] ProbeResult? Probe,
    [property: Id(1)] ScrapeResult? Scrape,
    [property: Id(2)] HealthReportResult? Health);

/// <summary>The server's health, combined from every source, with the reasons.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HealthVerdict")]
public sealed record HealthVerdict(
    [property: Id(0)] HealthState State,
    [property: Id(1)] string[] Reasons)
{
    public static HealthVerdict Unknown(string reason) => new(HealthState.Unknown, [reason]);
}

/// <summary>How the tool list changed the last time it changed.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ToolSetChange")]
public sealed record ToolSetChange(
    [property: Id(0), JsonPropertyName("At")] DateTimeOffset At,
    [property: Id(1), JsonPropertyName("Added")] string[] Added,
    [property: Id(2), JsonPropertyName("Removed")] string[] Removed);
