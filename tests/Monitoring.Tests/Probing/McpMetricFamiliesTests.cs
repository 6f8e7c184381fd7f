using Monitoring.Probing;
using Monitoring.Rules.Conditions;
using Monitoring.Servers;

namespace Monitoring.Tests.Probing;

public sealed class McpMetricFamiliesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static ScrapedCounters Scrape(double success, double errors, double[] buckets, double sum, double tools = 0, double toolErrors = 0) =>
        McpMetricFamilies.Extract(PrometheusText.Parse($$"""
            mcp_requests_total{method="tools/call",status="success",transport="http",user_id="a"} {{success}}
            mcp_requests_total{method="tools/call",status="error",transport="http",user_id="a"} {{errors}}
            mcp_request_duration_seconds_bucket{method="tools/call",le="0.1"} {{buckets[0]}}
            mcp_request_duration_seconds_bucket{method="tools/call",le="0.5"} {{buckets[1]}}
            mcp_request_duration_seconds_bucket{method="tools/call",le="1"} {{buckets[2]}}
            mcp_request_duration_seconds_bucket{method="tools/call",le="+Inf"} {{buckets[3]}}
            mcp_request_duration_seconds_sum{method="tools/call"} {{sum}}
            mcp_request_duration_seconds_count{method="tools/call"} {{buckets[3]}}
            mcp_tool_executions_total{tool="search",status="success",category="general",user_id="a"} {{tools}}
            mcp_tool_errors_total{tool="search",error_type="ValueError",category="general"} {{toolErrors}}
            mcp_active_connections{transport="http"} 3
            mcp_active_connections{transport="sse"} 2
            mcp_cpu_usage_percent 41.5
            mcp_memory_usage_bytes 2.5e8
            """));

    [Fact]
    public void Derives_rates_error_rates_and_quantiles_from_two_scrapes()
    {
        var series = new ScrapeSeries(TimeSpan.FromMinutes(5));
        series.Add(T0, Scrape(100, 0, [50, 90, 100, 100], 20, tools: 10));
        // 15 s later: 30 more requests, 10 of them errors; their latencies land 10 / 10 / 10 in the three finite buckets.
        series.Add(T0.AddSeconds(15), Scrape(120, 10, [60, 110, 130, 130], 29, tools: 20, toolErrors: 5));
        var metrics = new Dictionary<string, double>();

        series.AddMetrics(T0.AddSeconds(15), metrics);

        Assert.Equal(2.0, metrics[MetricNames.RequestsPerSecond], 9);
        Assert.Equal(10.0 / 30, metrics[MetricNames.ErrorRate], 9);
        Assert.Equal(0.5, metrics[MetricNames.ToolErrorRate], 9);
        Assert.Equal(9.0 / 30, metrics[MetricNames.AverageResponseTime], 9);
        // histogram_quantile(0.95) over the deltas [10, 20, 30, 30]: rank 28.5 is in (0.5, 1], 8.5 of its 10 → 0.5 + 0.5 × 0.85.
        Assert.Equal(0.925, metrics[MetricNames.P95ResponseTime], 9);
        Assert.Equal(0.5 + 0.5 * (29.7 - 20) / 10, metrics[MetricNames.P99ResponseTime], 9);
        Assert.Equal(5, metrics[MetricNames.ActiveConnections]);
        Assert.Equal(41.5, metrics[MetricNames.CpuUsage]);
        Assert.Equal(2.5e8, metrics[MetricNames.MemoryUsageBytes]);
    }

    [Fact]
    public void A_restarted_server_never_gives_a_negative_rate()
    {
        var series = new ScrapeSeries(TimeSpan.FromMinutes(5));
        series.Add(T0, Scrape(1000, 100, [500, 900, 1000, 1100], 300));
        // The server restarted: every counter starts again from zero, and has counted 30 requests since.
        series.Add(T0.AddSeconds(15), Scrape(20, 10, [10, 20, 30, 30], 9));
        var metrics = new Dictionary<string, double>();

        series.AddMetrics(T0.AddSeconds(15), metrics);

        Assert.Equal(2.0, metrics[MetricNames.RequestsPerSecond], 9);
        Assert.Equal(10.0 / 30, metrics[MetricNames.ErrorRate], 9);
        Assert.Equal(0.925, metrics[MetricNames.P95ResponseTime], 9);
        Assert.All(metrics.Values, v => Assert.True(v >= 0));
    }

    [Fact]
    public void Rates_cover_the_window_and_a_stale_series_says_nothing()
    {
        var series = new ScrapeSeries(TimeSpan.FromMinutes(1));
        for (var i = 0; i <= 10; i++)
        {
            // 1 request per second for the first 5 scrapes, then 3 per second.
            var total = i <= 5 ? i * 15 : 75 + (i - 5) * 45;
            series.Add(T0.AddSeconds(15 * i), Scrape(total, 0, [total, total, total, total], total * 0.05));
        }
        var metrics = new Dictionary<string, double>();
        series.AddMetrics(T0.AddSeconds(150), metrics);
        Assert.Equal(3.0, metrics[MetricNames.RequestsPerSecond], 9);

        var later = new Dictionary<string, double>();
        series.AddMetrics(T0.AddMinutes(10), later);
        Assert.Empty(later);
    }

    [Theory]
    [InlineData(0.5, 0.3)]
    [InlineData(0.0, 0.0)]
    [InlineData(1.0, 1.0)]
    public void Histogram_quantile_matches_prometheus(double q, double expected)
    {
        // 5 observations ≤ 0.2, 10 in (0.2, 0.4], 5 in (0.4, 1]: q=0.5 is rank 10, half-way through the second bucket.
        double[] bounds = [0.2, 0.4, 1, double.PositiveInfinity];
        double[] counts = [5, 15, 20, 20];

        Assert.Equal(expected, ScrapeSeries.HistogramQuantile(q, bounds, counts), 9);
    }

    [Fact]
    public void Histogram_quantile_in_the_inf_bucket_answers_the_highest_finite_bound_and_empty_is_nan()
    {
        Assert.Equal(1.0, ScrapeSeries.HistogramQuantile(0.99, [0.5, 1, double.PositiveInfinity], [1, 2, 10]));
        Assert.True(double.IsNaN(ScrapeSeries.HistogramQuantile(0.5, [0.5, double.PositiveInfinity], [0, 0])));
        Assert.True(double.IsNaN(ScrapeSeries.HistogramQuantile(0.5, [0.5, 1], [1, 2])));
    }

    [Fact]
    public void OpenTelemetry_operation_duration_stands_in_when_the_seed_families_are_absent()
    {
        var counters = McpMetricFamilies.Extract(PrometheusText.Parse("""
            mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call",le="0.1"} 8
            mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call",le="+Inf"} 10
            mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call"} 8
            mcp_server_operation_duration_seconds_sum{mcp_method_name="tools/call"} 0.4
            mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call",error_type="tool_error",le="0.1"} 0
            mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call",error_type="tool_error",le="+Inf"} 2
            mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",error_type="tool_error"} 2
            mcp_server_operation_duration_seconds_sum{mcp_method_name="tools/call",error_type="tool_error"} 3
            """));

        Assert.Equal("mcp_server_operation_duration_seconds", counters.DurationFamily);
        Assert.Equal(10, counters.Requests);
        Assert.Equal(2, counters.RequestErrors);
        Assert.Equal([8, 12], counters.BucketCounts);
    }
}
