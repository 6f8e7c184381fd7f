namespace Monitoring.Probing;

/// <summary>Limits of active checking on one silo, bound from the "Probing" configuration section.</summary>
public sealed class ProbingOptions
{
    public const string Section = "Probing";

    /// <summary>Rounds of checks (probe + scrape + health of one server) running at once on one silo; the rest wait their turn.</summary>
    public int MaxConcurrentChecks { get; set; } = 128;

    /// <summary>Largest reply read from a server, a metrics page or a health report.</summary>
    public long MaxResponseBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>A check older than this many intervals counts as stale in the health verdict.</summary>
    public int StaleAfterIntervals { get; set; } = 3;
}
