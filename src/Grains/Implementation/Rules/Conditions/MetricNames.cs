namespace Monitoring.Rules.Conditions;

/// <summary>The metric vocabulary a rule condition may use (the seed's PerformanceTracker names).</summary>
public static class MetricNames
{
    public const string RequestsPerSecond = "requests_per_second";
    public const string AverageResponseTime = "average_response_time";
    public const string P95ResponseTime = "p95_response_time";
    public const string P99ResponseTime = "p99_response_time";
    public const string ErrorRate = "error_rate";
    public const string ActiveConnections = "active_connections";
    public const string CpuUsage = "cpu_usage";
    public const string MemoryUsage = "memory_usage";
    public const string ToolErrorRate = "tool_error_rate";

    // From active checks: the MCP probe, the metrics scrape and the health report.
    public const string Up = "up";
    public const string ProbeLatencySeconds = "probe_latency_seconds";
    public const string ToolCount = "tool_count";
    public const string Health = "health";
    public const string MemoryUsageBytes = "memory_usage_bytes";

    /// <summary>How many times the tool list changed within the metric window.</summary>
    public const string ToolSetChanges = "tool_set_changes";

    /// <summary>
    /// Seconds since anything arrived from the server: a successful probe, a scrape, a health report or pushed telemetry.
    /// Counted from registration when nothing ever arrived. "No data for 5m" is <c>data_age_seconds &gt; 300</c>.
    /// </summary>
    public const string DataAgeSeconds = "data_age_seconds";

    public static readonly IReadOnlyList<string> All =
    [
        RequestsPerSecond, AverageResponseTime, P95ResponseTime, P99ResponseTime, ErrorRate,
        ActiveConnections, CpuUsage, MemoryUsage, ToolErrorRate,
        Up, ProbeLatencySeconds, ToolCount, Health, MemoryUsageBytes, ToolSetChanges, DataAgeSeconds,
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string name) => Known.Contains(name);
}
