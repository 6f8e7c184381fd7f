using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Rules;

namespace Monitoring.Api.Contracts;

/// <summary>A rule as written by users: durations Prometheus-style, severity by name.</summary>
public sealed record RuleRequest(
    string? Id,
    string? Name,
    string? Condition,
    string? For,
    string? Severity,
    string[]? Channels,
    string? Message,
    string? Cooldown,
    string? EscalateAfter,
    string[]? EscalationChannels,
    bool? AutoResolve,
    bool? Enabled,
    Dictionary<string, string>? Selector,
    string? SubjectTemplate = null,
    string? BodyTemplate = null,
    string? EscalationPolicy = null)
{
    // The seed's defaults: cooldown 60 minutes, escalation after 30 minutes, auto-resolve on.
    public const string DefaultCooldown = "60m";
    public const string DefaultEscalateAfter = "30m";
    public const string NoEscalation = "off";

    public AlertRule? ToRule(string? routeId, DateTimeOffset now, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200) errors.Add("name", "is required, at most 200 characters");
        // The condition's syntax and metrics, and the templates, are checked by the rule grain, which owns the language.
        if (string.IsNullOrWhiteSpace(Condition)) errors.Add("condition", "a condition is required, e.g. \"error_rate > 0.05\"");

        var pendingFor = Duration(For ?? "0s", "for", errors);
        var cooldown = Duration(Cooldown ?? DefaultCooldown, "cooldown", errors);
        // The simple escalation is on by default only where it tells someone: a rule with escalation channels and no
        // policy (a policy replaces it, unless the rule asks for both). Without channels it would only change the status.
        var escalateDefault = EscalationPolicy is null && EscalationChannels is { Length: > 0 } ? DefaultEscalateAfter : NoEscalation;
        TimeSpan? escalateAfter = (EscalateAfter ?? escalateDefault) == NoEscalation ? null : Duration(EscalateAfter ?? escalateDefault, "escalateAfter", errors);
        if (escalateAfter == TimeSpan.Zero) errors.Add("escalateAfter", $"must be more than 0s; write \"{NoEscalation}\" for no escalation");

        var severity = Common.Severity.Warning;
        if (Severity is not null && (int.TryParse(Severity, out _) || !Enum.TryParse(Severity, ignoreCase: true, out severity) || !Enum.IsDefined(severity)))
        {
            errors.Add("severity", $"'{Severity}' is not a severity; expected one of: info, warning, critical, emergency");
        }
        CheckChannelIds(Channels, "channels", errors);
        CheckChannelIds(EscalationChannels, "escalationChannels", errors);
        if (Message is { Length: > 4096 }) errors.Add("message", "is at most 4096 characters");
        LabelRules.Check(Selector, "selector", errors);
        if (EscalationPolicy is not null && !Ids.IsValid(EscalationPolicy)) errors.Add("escalationPolicy", $"'{EscalationPolicy}' is not a policy id");

        return errors.Any
            ? null
            : new AlertRule(id!, Name!, Condition!, pendingFor, severity, Channels ?? [], Message ?? Name!, cooldown, escalateAfter,
                EscalationChannels ?? [], AutoResolve ?? true, Enabled ?? true, Selector ?? [], now)
            {
                Templates = new MessageTemplates(SubjectTemplate, BodyTemplate),
                EscalationPolicy = EscalationPolicy,
            };
    }

    private static TimeSpan Duration(string text, string field, RequestErrors errors)
    {
        if (!Durations.TryParse(text, out var value, out var error)) errors.Add(field, error);
        return value;
    }

    private static void CheckChannelIds(string[]? ids, string field, RequestErrors errors)
    {
        if (ids is null) return;
        if (ids.Length > 32) errors.Add(field, "lists at most 32 channels");
        for (var i = 0; i < ids.Length; i++)
        {
            if (!Ids.IsValid(ids[i])) errors.Add($"{field}[{i}]", $"'{ids[i]}' is not a channel id");
        }
        if (ids.Distinct().Count() != ids.Length) errors.Add(field, "lists a channel twice");
    }
}

public sealed record RuleResponse(
    string Id, string Name, string Condition, string For, string Severity, string[] Channels, string Message, string Cooldown,
    string EscalateAfter, string[] EscalationChannels, bool AutoResolve, bool Enabled, Dictionary<string, string> Selector, DateTimeOffset UpdatedAt,
    string? SubjectTemplate, string? BodyTemplate, string? EscalationPolicy)
{
    public static RuleResponse From(AlertRule r) => new(
        r.Id, r.Name, r.Condition, Durations.Format(r.For), r.Severity.ToString().ToLowerInvariant(), r.Channels, r.Message,
        Durations.Format(r.Cooldown), r.EscalateAfter is { } e ? Durations.Format(e) : RuleRequest.NoEscalation,
        r.EscalationChannels, r.AutoResolve, r.Enabled, r.Selector, r.UpdatedAt, r.Templates.Subject, r.Templates.Body, r.EscalationPolicy);
}

/// <summary>
/// The rules, one page, with the catalog's version and the version applied: the lowest any silo's copy holds (each
/// refreshes every second; a server applies its silo's copy at its next evaluation, at once when nudged).
/// </summary>
public sealed record RuleListResponse(RuleResponse[] Items, int Total, int Limit, int Offset, long Version, long AppliedVersion, int Silos);
