using System.Globalization;
using Monitoring.Common;

namespace Monitoring.External;

/// <summary>
/// An alert as Prometheus (or amtool, or any Alertmanager client) posts it, its times already settled: a missing start
/// is the arrival time, a missing end is the arrival time plus the resolve timeout (<see cref="Timeout"/> set).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.PostedAlert")]
public sealed record PostedAlert(
    [property: Id(0)] string Fingerprint,
    [property: Id(1)] Dictionary<string, string> Labels,
    [property: Id(2)] Dictionary<string, string> Annotations,
    [property: Id(3)] DateTimeOffset StartsAt,
    [property: Id(4)] DateTimeOffset EndsAt,
    [property: Id(5)] bool Timeout,
    [property: Id(6)] string? GeneratorUrl);

/// <summary>One external alert as the Alertmanager API shows it, with what this product adds (acknowledgement, incidents).</summary>
[GenerateSerializer, Immutable, Alias("mcp.ExternalAlertView")]
public sealed record ExternalAlertView(
    [property: Id(0)] string Fingerprint,
    [property: Id(1)] Dictionary<string, string> Labels,
    [property: Id(2)] Dictionary<string, string> Annotations,
    [property: Id(3)] DateTimeOffset StartsAt,
    [property: Id(4)] DateTimeOffset EndsAt,
    [property: Id(5)] DateTimeOffset UpdatedAt,
    [property: Id(6)] string? GeneratorUrl,
    [property: Id(7)] string[] SilencedBy,
    [property: Id(8)] DateTimeOffset? AcknowledgedAt,
    [property: Id(9)] string? AcknowledgedBy,
    [property: Id(10)] string[] Incidents)
{
    public string AlertId => ExternalAlerts.AlertId(Fingerprint);
}

/// <summary>
/// The external alerts whose fingerprints fall in one partition. Alerts are many and small, so one grain holds a
/// slice of them: a batch of 500 becomes one call per partition, and a listing one call per partition.
/// </summary>
[Alias("mcp.IExternalAlertsGrain")]
public interface IExternalAlertsGrain : IGrainWithIntegerKey
{
    /// <summary>Takes the alerts (all of this partition) and returns once they are stored.</summary>
    Task AcceptAsync(PostedAlert[] alerts);

    /// <summary>The alerts that have not resolved.</summary>
    [AlwaysInterleave]
    Task<ExternalAlertView[]> ListAsync();

    Task<WriteResult> AcknowledgeAsync(string fingerprint, string? by);

    Task<WriteResult> ResolveAsync(string fingerprint, string? by);

    /// <summary>The silences changed: the partition looks at its alerts again now.</summary>
    Task SilencesChangedAsync();
}

/// <summary>Identity of external alerts: Prometheus's label-set fingerprint (64-bit FNV-1a, as Alertmanager shows it), and its partition.</summary>
public static class ExternalAlerts
{
    /// <summary>Pinned: a fingerprint's partition is where its stored state lives.</summary>
    public const int Partitions = 64;

    public const string IdPrefix = "am-";

    /// <summary>The name routes without a receiver are shown under (the generated configuration defines it, empty).</summary>
    public const string NoReceiver = "none";

    /// <summary>Hashes label names and values in name order, each followed by 0xff, as Prometheus's <c>LabelSet.Fingerprint</c>.</summary>
    public static string Fingerprint(IReadOnlyDictionary<string, string> labels)
    {
        const ulong offset = 14695981039346656037UL, prime = 1099511628211UL;
        var hash = offset;
        Span<byte> buffer = stackalloc byte[256];
        foreach (var name in labels.Keys.Order(StringComparer.Ordinal))
        {
            hash = Add(hash, name, buffer);
            hash = (hash ^ 0xff) * prime;
            hash = Add(hash, labels[name], buffer);
            hash = (hash ^ 0xff) * prime;
        }
        return hash.ToString("x16", CultureInfo.InvariantCulture);

        static ulong Add(ulong hash, string text, Span<byte> buffer)
        {
            var bytes = System.Text.Encoding.UTF8.GetByteCount(text) <= buffer.Length
                ? buffer[..System.Text.Encoding.UTF8.GetBytes(text, buffer)]
                : System.Text.Encoding.UTF8.GetBytes(text);
            foreach (var b in bytes) hash = (hash ^ b) * prime;
            return hash;
        }
    }

    public static int PartitionOf(string fingerprint) =>
        (int)(ulong.Parse(fingerprint, NumberStyles.HexNumber, CultureInfo.InvariantCulture) % Partitions);

    public static string AlertId(string fingerprint) => IdPrefix + fingerprint;

    public static bool IsAlertId(string id) => id.Length == IdPrefix.Length + 16 && id.StartsWith(IdPrefix, StringComparison.Ordinal) && id[IdPrefix.Length..].All(Uri.IsHexDigit);

    public static string FingerprintOf(string alertId) => alertId[IdPrefix.Length..];

    public static IExternalAlertsGrain Partition(IGrainFactory grains, string fingerprint) =>
        grains.GetGrain<IExternalAlertsGrain>(PartitionOf(fingerprint));

    /// <summary>The severity an external alert's <c>severity</c> label names; warning when it names none this product knows.</summary>
    public static Severity SeverityOf(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue("severity", out var text) && text.ToLowerInvariant() switch
        {
            "info" or "informational" or "none" => Severity.Info,
            "critical" or "page" or "error" or "high" => Severity.Critical,
            "emergency" or "fatal" => Severity.Emergency,
            _ => (Severity?)null,
        } is { } known ? known : Severity.Warning;
}
