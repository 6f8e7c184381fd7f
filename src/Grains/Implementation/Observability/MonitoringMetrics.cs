using Prometheus;

namespace Monitoring.Observability;

/// <summary>The product's own trace source: one span per delivery attempt, whatever the channel (SMTP included).</summary>
public static class MonitoringTracing
{
    public const string SourceName = "Monitoring.Notifications";
    public static readonly System.Diagnostics.ActivitySource Source = new(SourceName);
}

/// <summary>The product's own Prometheus metrics, shared by the grains of a silo.</summary>
public static class MonitoringMetrics
{
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

    public static readonly Counter Incidents = Metrics.CreateCounter(
        "mcp_alerting_incident_events_total",
        "Incident events: opened, resolved, and messages recorded by kind (firing, repeat, escalation, resolved).",
        new CounterConfiguration { LabelNames = ["event"] });

    public static readonly Counter AlertTransitions = Metrics.CreateCounter(
        "mcp_alerting_alert_transitions_total",
        "Alert status transitions, by the status entered.",
        new CounterConfiguration { LabelNames = ["to"] });

    public static readonly Counter Notifications = Metrics.CreateCounter(
        "mcp_alerting_notifications_total",
        "Notifications that reached a final state (delivered, failed, disabled, silenced), by channel type.",
        new CounterConfiguration { LabelNames = ["channel_type", "outcome"] });

    /// <summary>
    /// Labelled families are exported only once a series exists; the delivery outcomes dashboards and alerting rules
    /// query start at zero, so a quiet cluster shows 0, not "no data".
    /// </summary>
    public static void Prime()
    {
        foreach (var type in new[] { "webhook", "slack", "email" })
        {
            foreach (var outcome in new[] { "delivered", "failed" }) Notifications.WithLabels(type, outcome);
        }
        foreach (var kind in new[] { "opened", "firing", "resolved" }) Incidents.WithLabels(kind);
    }

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
