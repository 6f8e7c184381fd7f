using Monitoring.Routing;

namespace Monitoring.External;

/// <summary>
/// One partition's external alerts by fingerprint, as they were stored before the row store
/// (<see cref="IExternalAlertStore"/>): an activation moves what it finds here into the store and leaves this empty.
/// </summary>
[GenerateSerializer, Alias("mcp.ExternalAlertsState")]
public sealed class ExternalAlertsState
{
    [Id(0), JsonPropertyName("Alerts")] public Dictionary<string, ExternalAlertRecord> Alerts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>An external alert as stored: what its source said, its acknowledgement, and what its incidents were told.</summary>
[GenerateSerializer, Alias("mcp.ExternalAlertRecord")]
public sealed class ExternalAlertRecord
{
    [Id(0), JsonPropertyName("Labels")] public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);
    [Id(1), JsonPropertyName("Annotations")] public Dictionary<string, string> Annotations { get; set; } = new(StringComparer.Ordinal);
    [Id(2), JsonPropertyName("StartsAt")] public DateTimeOffset StartsAt { get; set; }
    [Id(3), JsonPropertyName("EndsAt")] public DateTimeOffset EndsAt { get; set; }

    /// <summary>The end is the resolve timeout's, not the source's: a later explicit end wins over it.</summary>
    [Id(4), JsonPropertyName("Timeout")] public bool Timeout { get; set; }

    [Id(5), JsonPropertyName("GeneratorUrl")] public string? GeneratorUrl { get; set; }
    [Id(6), JsonPropertyName("UpdatedAt")] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Counts firing episodes: an alert that resolved and fires again is a new episode, unacknowledged.</summary>
    [Id(7), JsonPropertyName("Episode")] public int Episode { get; set; }

    /// <summary>Numbers the reports to incidents; an incident ignores a lower one than it has.</summary>
    [Id(8), JsonPropertyName("Sequence")] public long Sequence { get; set; }

    [Id(9), JsonPropertyName("AcknowledgedAt")] public DateTimeOffset? AcknowledgedAt { get; set; }
    [Id(10), JsonPropertyName("AcknowledgedBy")] public string? AcknowledgedBy { get; set; }
    [Id(11), JsonPropertyName("Routes")] public RouteMatch[] Routes { get; set; } = [];
    [Id(12), JsonPropertyName("ReportedStatus")] public MemberStatus? ReportedStatus { get; set; }
    [Id(13), JsonPropertyName("ReportedEpisode")] public int ReportedEpisode { get; set; }
    [Id(14), JsonPropertyName("Inhibiting")] public bool Inhibiting { get; set; }
    [Id(15), JsonPropertyName("SilencedBy")] public string[] SilencedBy { get; set; } = [];
}
