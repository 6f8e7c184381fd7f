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

    public static readonly IReadOnlyList<string> All =
    [
        RequestsPerSecond, AverageResponseTime, P95ResponseTime, P99ResponseTime, ErrorRate,
        ActiveConnections, CpuUsage, MemoryUsage, ToolErrorRate,
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string name) => Known.Contains(name);
}
