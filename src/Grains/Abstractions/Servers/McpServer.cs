namespace Monitoring.Servers;

/// <summary>A monitored MCP server as registered.</summary>
[GenerateSerializer, Immutable, Alias("mcp.McpServer")]
public sealed record McpServer(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Endpoint")] string Endpoint,
    [property: Id(3), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(4), JsonPropertyName("Enabled")] bool Enabled,
    [property: Id(5), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt,
    [property: Id(6), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    /// <summary>How the cluster watches the server over MCP itself.</summary>
    [Id(7), JsonPropertyName("Probe")] public ProbeSettings Probe { get; init; } = ProbeSettings.Default;

    /// <summary>Optional Prometheus endpoint with the seed's metric families.</summary>
    [Id(8), JsonPropertyName("MetricsUrl")] public string? MetricsUrl { get; init; }

    /// <summary>Optional endpoint answering with the seed's health report.</summary>
    [Id(9), JsonPropertyName("HealthUrl")] public string? HealthUrl { get; init; }

    /// <summary>Where a discovered server came from; null for one registered by hand (which discovery never touches).</summary>
    [Id(10), JsonPropertyName("Origin")] public ServerOrigin? Origin { get; init; }
}

/// <summary>
/// The active checks of one server. <see cref="Headers"/> carry secrets (bearer tokens): they are sent with probes only,
/// never returned by the API and never logged.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ProbeSettings")]
public sealed record ProbeSettings(
    [property: Id(0), JsonPropertyName("Enabled")] bool Enabled,
    [property: Id(1), JsonPropertyName("Interval")] TimeSpan Interval,
    [property: Id(2), JsonPropertyName("Timeout")] TimeSpan Timeout,
    [property: Id(3), JsonPropertyName("Headers")] Dictionary<string, string> Headers,
    [property: Id(4), JsonPropertyName("ExpectedTools")] string[] ExpectedTools)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static readonly ProbeSettings Default = new(true, DefaultInterval, DefaultTimeout, [], []);

    /// <summary>How to reach the server: auto (Streamable HTTP, then the legacy HTTP+SSE transport), or one of them only.</summary>
    [Id(5), JsonPropertyName("Transport")] public ProbeTransport Transport { get; init; } = ProbeTransport.Auto;

    /// <summary>A protocol revision to use instead of negotiating one (e.g. "2025-06-18"), or null to negotiate.</summary>
    [Id(6), JsonPropertyName("ProtocolVersion")] public string? ProtocolVersion { get; init; }
}

public enum ProbeTransport
{
    Auto,
    StreamableHttp,
    Sse,
}

/// <summary>How a probe last reached a server: the transport, where, and the protocol revision that worked.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ProbeEra")]
public sealed record ProbeEra(
    [property: Id(0), JsonPropertyName("Transport")] ProbeTransport Transport,
    [property: Id(1), JsonPropertyName("Endpoint")] string Endpoint,
    [property: Id(2), JsonPropertyName("ProtocolVersion")] string ProtocolVersion);

/// <summary>One request an MCP server handled, as pushed to the telemetry endpoint.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RequestRecord")]
public sealed record RequestRecord(
    [property: Id(0)] string Method,
    [property: Id(1)] string? Tool,
    [property: Id(2)] double DurationMs,
    [property: Id(3)] bool Success,
    [property: Id(4)] DateTimeOffset? Timestamp);

[GenerateSerializer, Immutable, Alias("mcp.GaugeReading")]
public sealed record GaugeReading(
    [property: Id(0)] double? ActiveConnections,
    [property: Id(1)] double? CpuUsage,
    [property: Id(2)] double? MemoryUsage);

[GenerateSerializer, Immutable, Alias("mcp.TelemetryBatch")]
public sealed record TelemetryBatch(
    [property: Id(0)] RequestRecord[] Requests,
    [property: Id(1)] GaugeReading? Gauges)
{
    /// <summary>Requests summed up by the server itself (OpenTelemetry histogram points), beside or instead of one record each.</summary>
    [Id(2)] public RequestAggregate[] Aggregates { get; init; } = [];
}

/// <summary>
/// Many requests of one kind summed up, as one point of OpenTelemetry's <c>mcp.server.operation.duration</c> histogram
/// carries them: how many, their total duration and their distribution over explicit bucket bounds (seconds, upper
/// bounds inclusive; one more count than bounds). A cumulative point counts everything since <see cref="Start"/>: the
/// server grain turns consecutive points of a series into the requests between them.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.RequestAggregate")]
public sealed record RequestAggregate(
    [property: Id(0)] string Method,
    [property: Id(1)] string? Tool,
    [property: Id(2)] string? ErrorType,
    [property: Id(3)] DateTimeOffset Start,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] bool Cumulative,
    [property: Id(6)] long Count,
    [property: Id(7)] double SumSeconds,
    [property: Id(8)] double[] BoundsSeconds,
    [property: Id(9)] long[] BucketCounts,
    [property: Id(10)] double? MinSeconds,
    [property: Id(11)] double? MaxSeconds)
{
    public bool Success => ErrorType is null;

    /// <summary>What names a series of cumulative points: everything but the counts and times.</summary>
    public string SeriesKey => $"{Method}\u0000{Tool}\u0000{ErrorType}";
}

[GenerateSerializer, Immutable, Alias("mcp.IngestResult")]
public sealed record IngestResult(
    [property: Id(0)] bool Found,
    [property: Id(1)] int Accepted,
    [property: Id(2)] int Dropped)
{
    /// <summary>Breaches that could not reach their alert (its silo died mid-call): the push is not accepted and should be sent again.</summary>
    [Id(3)] public int Unreached { get; init; }
}

/// <summary>A server with what is known of it now: checks, current metrics, the health verdict and the alerts open on it.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerStatus")]
public sealed record ServerStatus(
    [property: Id(0)] McpServer Server,
    [property: Id(1)] Dictionary<string, double> Metrics,
    [property: Id(2)] DateTimeOffset? LastTelemetryAt,
    [property: Id(3)] long RequestsInWindow,
    [property: Id(4)] string[] OpenAlerts)
{
    [Id(5)] public HealthVerdict Health { get; init; } = HealthVerdict.Unknown("no data yet");
    [Id(6)] public ProbeResult? LastProbe { get; init; }
    [Id(7)] public ScrapeResult? LastScrape { get; init; }
    [Id(8)] public HealthReportResult? LastHealthReport { get; init; }
    [Id(9)] public string[] Tools { get; init; } = [];
    [Id(10)] public ToolSetChange? LastToolSetChange { get; init; }

    /// <summary>The metric window step by step, oldest first (not stored: read from the window when asked).</summary>
    [Id(11)] public WindowPoint[] Series { get; init; } = [];
}

/// <summary>One step of a server's metric window: when it began, requests, errors and their mean latency in seconds.</summary>
[GenerateSerializer, Immutable, Alias("mcp.WindowPoint")]
public sealed record WindowPoint([property: Id(0)] DateTimeOffset At, [property: Id(1)] long Requests, [property: Id(2)] long Errors, [property: Id(3)] double MeanSeconds);

/// <summary>A discovered server's discovery source, and what that source calls it (a registry's server name and remote).</summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerOrigin")]
public sealed record ServerOrigin(
    [property: Id(0), JsonPropertyName("Source")] string Source,
    [property: Id(1), JsonPropertyName("Ref")] string Ref);
