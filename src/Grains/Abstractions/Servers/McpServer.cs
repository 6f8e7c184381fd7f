namespace Monitoring.Servers;

/// <summary>A monitored MCP server as registered.</summary>
[GenerateSerializer, Immutable]
public sealed record McpServer(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Endpoint,
    [property: Id(3)] Dictionary<string, string> Labels,
    [property: Id(4)] bool Enabled,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt);

/// <summary>One request an MCP server handled, as pushed to the telemetry endpoint.</summary>
[GenerateSerializer, Immutable]
public sealed record RequestRecord(
    [property: Id(0)] string Method,
    [property: Id(1)] string? Tool,
    [property: Id(2)] double DurationMs,
    [property: Id(3)] bool Success,
    [property: Id(4)] DateTimeOffset? Timestamp);

[GenerateSerializer, Immutable]
public sealed record GaugeReading(
    [property: Id(0)] double? ActiveConnections,
    [property: Id(1)] double? CpuUsage,
    [property: Id(2)] double? MemoryUsage);

[GenerateSerializer, Immutable]
public sealed record TelemetryBatch(
    [property: Id(0)] RequestRecord[] Requests,
    [property: Id(1)] GaugeReading? Gauges);

[GenerateSerializer, Immutable]
public sealed record IngestResult(
    [property: Id(0)] bool Found,
    [property: Id(1)] int Accepted,
    [property: Id(2)] int Dropped);

/// <summary>A server with what is known of it now: its current metrics and the alerts open on it.</summary>
[GenerateSerializer, Immutable]
public sealed record ServerStatus(
    [property: Id(0)] McpServer Server,
    [property: Id(1)] Dictionary<string, double> Metrics,
    [property: Id(2)] DateTimeOffset? LastTelemetryAt,
    [property: Id(3)] long RequestsInWindow,
    [property: Id(4)] string[] OpenAlerts);
