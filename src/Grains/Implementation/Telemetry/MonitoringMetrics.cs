using Prometheus;

namespace Monitoring.Telemetry;

/// <summary>The product's own Prometheus metrics, shared by grains and the API in a process.</summary>
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

/// <summary>The product's own trace source: one span per delivery attempt, whatever the channel (SMTP included).</summary>
public static class MonitoringTracing
{
    public const string SourceName = "Monitoring.Notifications";
    public static readonly System.Diagnostics.ActivitySource Source = new(SourceName);
}

public static class MonitoringMetrics
{
    private static int _configured;
    private static readonly string[] ExportedMeters = ["Microsoft.Orleans", "Npgsql", "Polly", "System.Net.Http", "Microsoft.AspNetCore"];

    /// <summary>
    /// What /metrics exports besides the product's own metrics: prometheus-net's process and .NET collectors, and
    /// the System.Diagnostics.Metrics meters below (Orleans' among them). Instruments whose names would break
    /// Prometheus' conventions (a gauge called …count, as System.Runtime and Npgsql have) are left out, as are
    /// EventCounters, so `promtool check metrics` passes. Called once per process by the API and by the silo.
    /// </summary>
    public static void ConfigureExport()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        static bool Exported(System.Diagnostics.Metrics.Instrument instrument) =>
            ExportedMeters.Any(prefix => instrument.Meter.Name.StartsWith(prefix, StringComparison.Ordinal))
            && !(instrument.Name.EndsWith("count", StringComparison.Ordinal) && instrument.GetType().Name is not ("Counter`1" or "ObservableCounter`1"));
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true });
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = Exported);
    }

    public static readonly Counter TelemetryRecordsIngested = Metrics.CreateCounter(
        "mcp_alerting_telemetry_records_ingested_total",
        "Request records accepted from telemetry pushes.");

    public static readonly Counter TelemetryRecordsDropped = Metrics.CreateCounter(
        "mcp_alerting_telemetry_records_dropped_total",
        "Request records rejected because they fell outside the metric window.");

    public static readonly Counter RuleEvaluations = Metrics.CreateCounter(
        "mcp_alerting_rule_evaluations_total",
        "Rule evaluations against a server's metrics, by result.",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Counter AlertTransitions = Metrics.CreateCounter(
        "mcp_alerting_alert_transitions_total",
        "Alert status transitions, by the status entered.",
        new CounterConfiguration { LabelNames = ["to"] });

    public static readonly Counter Notifications = Metrics.CreateCounter(
        "mcp_alerting_notifications_total",
        "Notifications that reached a final state (delivered, failed, disabled, silenced), by channel type.",
        new CounterConfiguration { LabelNames = ["channel_type", "outcome"] });

    public static readonly Counter DeliveryAttemptsFailed = Metrics.CreateCounter(
        "mcp_alerting_notification_attempts_failed_total",
        "Failed delivery attempts (each may be retried), by channel type and reason.",
        new CounterConfiguration { LabelNames = ["channel_type", "reason"] });

    public static readonly Counter NotificationsHeld = Metrics.CreateCounter(
        "mcp_alerting_notifications_held_total",
        "Notifications held back by a rate limit (and sent later), by the limit that held them.",
        new CounterConfiguration { LabelNames = ["channel_type", "limit"] });

    public static readonly Histogram NotificationLatency = Metrics.CreateHistogram(
        "mcp_alerting_notification_duration_seconds",
        "Time to deliver one notification to its receiver.",
        new HistogramConfiguration { LabelNames = ["channel_type"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    public static readonly Gauge Alerts = Metrics.CreateGauge(
        "mcp_alerting_alerts",
        "Alerts by status and severity, from the listings.",
        new GaugeConfiguration { LabelNames = ["status", "severity"] });

    public static readonly Gauge Servers = Metrics.CreateGauge(
        "mcp_alerting_servers",
        "Monitored servers by health verdict, from the listings.",
        new GaugeConfiguration { LabelNames = ["health"] });

    public static readonly Histogram EvaluationLatency = Metrics.CreateHistogram(
        "mcp_alerting_rule_evaluation_duration_seconds",
        "Time to evaluate every rule that selects a server, alert calls included.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    public static readonly Counter Probes = Metrics.CreateCounter(
        "mcp_alerting_probes_total",
        "MCP protocol probes, by outcome.",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public static readonly Histogram ProbeLatency = Metrics.CreateHistogram(
        "mcp_alerting_probe_duration_seconds",
        "Latency of the liveness call (ping or server/discover) of an MCP probe, by outcome.",
        new HistogramConfiguration { LabelNames = ["outcome"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Counter Scrapes = Metrics.CreateCounter(
        "mcp_alerting_scrapes_total",
        "Prometheus scrapes of monitored servers, by outcome.",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public static readonly Counter HealthReads = Metrics.CreateCounter(
        "mcp_alerting_health_reports_total",
        "Reads of monitored servers' own health endpoints, by outcome.",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public static readonly Counter ChecksSkipped = Metrics.CreateCounter(
        "mcp_alerting_check_rounds_skipped_total",
        "Check rounds not started because the previous round of the same server was still running.");
}
