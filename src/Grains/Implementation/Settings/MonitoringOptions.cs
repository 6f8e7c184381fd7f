namespace Monitoring.Settings;

/// <summary>Tunables of monitoring and evaluation, bound from the "Monitoring" configuration section.</summary>
public sealed class MonitoringOptions
{
    public const string Section = "Monitoring";

    /// <summary>The sliding window the performance metrics are computed over (the seed's window_size).</summary>
    public TimeSpan MetricWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often each server re-evaluates its rules without new telemetry.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often a reminder brings back an alert or a channel with work waiting (servers: five times this). It bounds
    /// how long pending work waits after its silo dies. Orleans' own minimum is 1 minute unless the host lowers it.
    /// </summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each service-level objective reads its servers' history and decides its burn-rate alerts.</summary>
    public TimeSpan SloEvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most request records one telemetry push may carry.</summary>
    public int MaxTelemetryBatch { get; set; } = 10_000;
}

/// <summary>The named grain storage providers. Embedded mode backs them with memory; production with PostgreSQL.</summary>
public static class StorageNames
{
    public const string Servers = "servers";
    public const string Rules = "rules";
    public const string Alerts = "alerts";
    public const string Channels = "channels";
    public const string Listings = "listings";

    public static readonly IReadOnlyList<string> All = [Servers, Rules, Alerts, Channels, Listings];

    /// <summary>The providers production keeps in PostgreSQL; listings there are a table, not grain state.</summary>
    public static readonly IReadOnlyList<string> Durable = [Servers, Rules, Alerts, Channels];
}

/// <summary>Delivery of notifications, bound from the "Notifications" configuration section.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>The most notifications the whole cluster sends a second, over every channel; 0 turns the cap off.</summary>
    public double ClusterRatePerSecond { get; set; } = 500;

    /// <summary>How many seconds of the rate a silo may send at once after a quiet spell.</summary>
    public double ClusterBurstSeconds { get; set; } = 2;

    /// <summary>This product's address as people reach it: Alertmanager payloads link to alerts through it.</summary>
    public string ExternalUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>Messages one channel has on their way at once; the rest wait their turn in order (a storm's thousands do not open thousands of connections).</summary>
    public int MaxInFlightPerChannel { get; set; } = 64;

    /// <summary>
    /// Delivery workers a channel spreads its messages over, by thread (each thread stays in order on one); a channel
    /// with a rate limit of its own has one. MaxInFlightPerChannel is shared among them.
    /// </summary>
    public int DeliveryWorkers { get; set; } = 8;

    /// <summary>How long the acknowledge and resolve links in a firing message work; zero sends none.</summary>
    public TimeSpan ActionLinkLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Finished deliveries a channel's log shows at most.</summary>
    public int DeliveryLogSize { get; set; } = 200;

    /// <summary>How long a finished notification's key is kept, so a hand-off repeated after a failure is never sent twice.</summary>
    public TimeSpan DedupRetention { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>
/// Whether grain state outlives the process. In the embedded mode it does not: writes a grain makes on its way out at
/// shutdown (a window snapshot, a log written behind) would only go to memory that is about to go, so they are skipped.
/// </summary>
public sealed record StateDurability(bool Volatile)
{
    public static readonly StateDurability Durable = new(false);
}
