using Prometheus;

namespace Monitoring.Api.Hosting;

/// <summary>
/// The seed's request metrics, for the API's own requests: mcp_requests_total, mcp_request_duration_seconds,
/// mcp_request_size_bytes, mcp_response_size_bytes and mcp_active_connections, with the seed's labels. "method" is
/// the route template (bounded), "transport" is http, and "user_id" is the caller once authentication names one.
/// </summary>
public static class ApiRequestMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter(
        "mcp_requests_total", "Total number of requests to the API", new CounterConfiguration { LabelNames = ["method", "status", "transport", "user_id"] });

    public static readonly Histogram Duration = Metrics.CreateHistogram(
        "mcp_request_duration_seconds", "API request duration in seconds",
        new HistogramConfiguration { LabelNames = ["method", "transport"], Buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0] });

    public static readonly Histogram RequestSize = Metrics.CreateHistogram(
        "mcp_request_size_bytes", "API request size in bytes",
        new HistogramConfiguration { LabelNames = ["method", "transport"], Buckets = [100, 1000, 10000, 100000, 1000000, 10000000] });

    public static readonly Histogram ResponseSize = Metrics.CreateHistogram(
        "mcp_response_size_bytes", "API response size in bytes",
        new HistogramConfiguration { LabelNames = ["method", "transport"], Buckets = [100, 1000, 10000, 100000, 1000000, 10000000] });

    public static readonly Gauge ActiveConnections = Metrics.CreateGauge(
        "mcp_active_connections", "Number of API requests in progress", new GaugeConfiguration { LabelNames = ["transport"] });
}

/// <summary>Fleet gauges the API computes from the listings when /metrics is scraped.</summary>
public static class FleetMetrics
{
    public static readonly Gauge Alerts = Metrics.CreateGauge(
        "mcp_alerting_alerts",
        "Alerts by status and severity, from the listings.",
        new GaugeConfiguration { LabelNames = ["status", "severity"] });

    public static readonly Gauge Servers = Metrics.CreateGauge(
        "mcp_alerting_servers",
        "Monitored servers by health verdict, from the listings.",
        new GaugeConfiguration { LabelNames = ["health"] });
}
