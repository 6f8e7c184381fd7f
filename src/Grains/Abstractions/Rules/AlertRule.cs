using Monitoring.Common;

namespace Monitoring.Rules;

/// <summary>An alert rule, validated. Durations are held as TimeSpans; the API speaks Prometheus-style strings.</summary>
[GenerateSerializer, Immutable]
public sealed record AlertRule(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Condition,
    [property: Id(3)] TimeSpan For,
    [property: Id(4)] Severity Severity,
    [property: Id(5)] string[] Channels,
    [property: Id(6)] string Message,
    [property: Id(7)] TimeSpan Cooldown,
    [property: Id(8)] TimeSpan? EscalateAfter,
    [property: Id(9)] string[] EscalationChannels,
    [property: Id(10)] bool AutoResolve,
    [property: Id(11)] bool Enabled,
    [property: Id(12)] Dictionary<string, string> Selector,
    [property: Id(13)] DateTimeOffset UpdatedAt)
{
    /// <summary>Liquid templates for this rule's messages; they win over the channel's.</summary>
    [Id(14)] public Monitoring.Channels.MessageTemplates Templates { get; init; } = Monitoring.Channels.MessageTemplates.None;

    /// <summary>The escalation policy that runs while an alert of this rule is unacknowledged, if any.</summary>
    [Id(15)] public string? EscalationPolicy { get; init; }

    /// <summary>Label equality matchers; an empty selector selects every server.</summary>
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
[GenerateSerializer, Immutable]
public sealed record RuleSet([property: Id(0)] long Version, [property: Id(1)] AlertRule[] Rules)
{
    public static readonly RuleSet Empty = new(0, []);
}
