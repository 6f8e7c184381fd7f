using System.Globalization;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>
/// Reads the seed's metric families (and OpenTelemetry's MCP histogram) out of a scrape, summed over their label sets.
/// Only cumulative values come out; rates and quantiles need two scrapes (<see cref="ScrapeSeries"/>).
/// </summary>
public static class McpMetricFamilies
{
    public const string Requests = "mcp_requests_total";
    public const string RequestDuration = "mcp_request_duration_seconds";
    public const string OtelOperationDuration = "mcp_server_operation_duration_seconds";
    public const string ToolExecutions = "mcp_tool_executions_total";
    public const string ToolErrors = "mcp_tool_errors_total";
    public const string ActiveConnections = "mcp_active_connections";
    public const string CpuUsage = "mcp_cpu_usage_percent";
    public const string MemoryUsage = "mcp_memory_usage_bytes";

    public static ScrapedCounters Extract(IReadOnlyList<PrometheusSample> samples)
    {
        double? requests = null, requestErrors = null, toolExecutions = null, toolExecutionErrors = null, toolErrors = null;
        double? connections = null, cpu = null, memory = null;
        var seedHistogram = new HistogramAccumulator();
        var otelHistogram = new HistogramAccumulator();

        foreach (var sample in samples)
        {
            if (double.IsNaN(sample.Value)) continue;
            switch (sample.Name)
            {
                case Requests:
                    requests = (requests ?? 0) + sample.Value;
                    requestErrors = (requestErrors ?? 0) + (IsFailure(sample) ? sample.Value : 0);
                    break;
                case ToolExecutions:
                    toolExecutions = (toolExecutions ?? 0) + sample.Value;
                    toolExecutionErrors = (toolExecutionErrors ?? 0) + (IsFailure(sample) ? sample.Value : 0);
                    break;
                case ToolErrors:
                    toolErrors = (toolErrors ?? 0) + sample.Value;
                    break;
                case ActiveConnections:
                    connections = (connections ?? 0) + sample.Value;
                    break;
                case CpuUsage:
                    cpu = Math.Max(cpu ?? 0, sample.Value);
                    break;
                case MemoryUsage:
                    memory = (memory ?? 0) + sample.Value;
                    break;
                default:
                    seedHistogram.TryAdd(RequestDuration, sample);
                    otelHistogram.TryAdd(OtelOperationDuration, sample);
                    break;
            }
        }

        // The seed's families win; a server instrumented only with OpenTelemetry's conventions still gets every metric.
        var histogram = seedHistogram.HasData ? seedHistogram : otelHistogram;
        var family = seedHistogram.HasData ? RequestDuration : otelHistogram.HasData ? OtelOperationDuration : null;
        if (requests is null && !seedHistogram.HasData && otelHistogram.HasData)
        {
            requests = otelHistogram.Count;
            requestErrors = otelHistogram.ErrorCount;
        }
        var (bounds, counts) = histogram.Buckets();
        return new ScrapedCounters(
            requests, requestErrors, toolExecutions, toolErrors ?? toolExecutionErrors,
            bounds, counts, histogram.HasData ? histogram.Sum : null, histogram.HasData ? histogram.Count : null,
            connections, cpu, memory, family);
    }

    /// <summary>The seed labels outcomes <c>status="success"|"error"</c>; HTTP-style codes and OpenTelemetry's <c>error_type</c> count too.</summary>
    public static bool IsFailure(PrometheusSample sample)
    {
        if (sample.Label("error_type") is { Length: > 0 }) return true;
        var status = sample.Label("status") ?? sample.Label("outcome") ?? sample.Label("result");
        if (status is null) return false;
        if (int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code)) return code >= 400;
        return status.ToLowerInvariant() switch
        {
            "error" or "errors" or "failure" or "failed" or "fail" or "timeout" or "exception" or "4xx" or "5xx" => true,
            _ => false,
        };
    }

    private sealed class HistogramAccumulator
    {
        private readonly SortedDictionary<double, double> _buckets = [];

        public bool HasData { get; private set; }
        public double Sum { get; private set; }
        public double Count { get; private set; }
        public double ErrorCount { get; private set; }

        public void TryAdd(string family, PrometheusSample sample)
        {
            var name = sample.Name;
            if (!name.StartsWith(family, StringComparison.Ordinal)) return;
            var suffix = name.AsSpan(family.Length);
            if (suffix.SequenceEqual("_bucket"))
            {
                if (sample.Label("le") is not { } le || !TryParseBound(le, out var bound)) return;
                _buckets[bound] = _buckets.GetValueOrDefault(bound) + sample.Value;
                HasData = true;
            }
            else if (suffix.SequenceEqual("_sum"))
            {
                Sum += sample.Value;
            }
            else if (suffix.SequenceEqual("_count"))
            {
                Count += sample.Value;
                if (IsFailure(sample)) ErrorCount += sample.Value;
                HasData = true;
            }
        }

        public (double[] Bounds, double[] Counts) Buckets() => ([.. _buckets.Keys], [.. _buckets.Values]);

        private static bool TryParseBound(string text, out double bound)
        {
            if (text is "+Inf" or "Inf")
            {
                bound = double.PositiveInfinity;
                return true;
            }
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out bound) && double.IsFinite(bound);
        }
    }
}
