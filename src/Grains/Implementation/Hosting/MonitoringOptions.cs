namespace Monitoring.Hosting;

/// <summary>Tunables of monitoring and evaluation, bound from the "Monitoring" configuration section.</summary>
public sealed class MonitoringOptions
{
    public const string Section = "Monitoring";

    /// <summary>The sliding window the performance metrics are computed over (the seed's window_size).</summary>
    public TimeSpan MetricWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often each server re-evaluates its rules without new telemetry.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most request records one telemetry push may carry.</summary>
    public int MaxTelemetryBatch { get; set; } = 10_000;

    /// <summary>Timeout of one webhook delivery when the channel does not set its own.</summary>
    public TimeSpan DefaultDeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The named grain storage providers. Embedded mode backs them with memory; production with PostgreSQL.</summary>
public static class StorageNames
{
    public const string Servers = "servers";
    public const string Rules = "rules";
    public const string Alerts = "alerts";
    public const string Channels = "channels";
    public const string Index = "index";

    public static readonly IReadOnlyList<string> All = [Servers, Rules, Alerts, Channels, Index];
}
