using Monitoring.Common;

namespace Monitoring.Rules;

/// <summary>An alert rule, validated. Durations are held as TimeSpans; the API speaks Prometheus-style strings.</summary>
[GenerateSerializer, Immutable, Alias("mcp.AlertRule")]
public sealed record AlertRule(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Condition")] string Condition,
    [property: Id(3), JsonPropertyName("For")] TimeSpan For,
    [property: Id(4), JsonPropertyName("Severity")] Severity Severity,
    [property: Id(5), JsonPropertyName("Channels")] string[] Channels,
    [property: Id(6), JsonPropertyName("Message")] string Message,
    [property: Id(7), JsonPropertyName("Cooldown")] TimeSpan Cooldown,
    [property: Id(8), JsonPropertyName("EscalateAfter")] TimeSpan? EscalateAfter,
    [property: Id(9), JsonPropertyName("EscalationChannels")] string[] EscalationChannels,
    [property: Id(10), JsonPropertyName("AutoResolve")] bool AutoResolve,
    [property: Id(11), JsonPropertyName("Enabled")] bool Enabled,
    [property: Id(12), JsonPropertyName("Selector")] Dictionary<string, string> Selector,
    [property: Id(13), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    /// <summary>Liquid templates for this rule's messages; they win over the channel's.</summary>
    [Id(14), JsonPropertyName("Templates")] public Monitoring.Channels.MessageTemplates Templates { get; init; } = Monitoring.Channels.MessageTemplates.None;

    /// <summary>The escalation policy that runs while an alert of this rule is unacknowledged, if any.</summary>
    [Id(15), JsonPropertyName("EscalationPolicy")] public string? EscalationPolicy { get; init; }

    /// <summary>Label equality matchers; an empty selector selects every server.</summary>
    /// <summary>A rule that names no channels and no escalation policy is routed: its alerts go to incidents.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Routed => Channels.Length == 0 && EscalationPolicy is null && EscalationChannels.Length == 0;

    public bool Selects(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (name, value) in Selector)
        {
            if (!labels.TryGetValue(name, out var actual) || actual != value)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Every rule at one version of the catalog.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RuleSet")]
public sealed record RuleSet([property: Id(0), JsonPropertyName("Version")] long Version, [property: Id(1), JsonPropertyName("Rules")] AlertRule[] Rules)
{
    public static readonly RuleSet Empty = new(0, []);
}
