using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Discovery;

namespace Monitoring.Api.Contracts;

/// <summary>
/// A discovery source as written: a registry's URL, how often to poll it, a name pattern; or a Kubernetes role, where to
/// watch it (an API server, namespaces, a label selector); for both, labels and relabeling rules for its servers.
/// </summary>
public sealed partial record DiscoverySourceRequest(
    string? Id, string? Kind, string? Url, string? Interval, string? NamePattern, Dictionary<string, string>? Labels,
    string? Role = null, string[]? Namespaces = null, string? LabelSelector = null, RelabelRuleRequest?[]? Relabel = null)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(5);
    private const int MaxRules = 50;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex NamespaceName();

    // One requirement of a label selector: key=value, key==value, key!=value, key, !key, key in (a,b), key notin (a,b).
    [GeneratedRegex(@"^\s*(!?[A-Za-z0-9][-A-Za-z0-9_./]{0,252}|[A-Za-z0-9][-A-Za-z0-9_./]{0,252}\s*(=|==|!=)\s*[-A-Za-z0-9_.]{0,63}|[A-Za-z0-9][-A-Za-z0-9_./]{0,252}\s+(in|notin)\s+\([-A-Za-z0-9_.,\s]*\))\s*$")]
    private static partial Regex SelectorTerm();

    [GeneratedRegex(@",(?![^(]*\))")]
    private static partial Regex SelectorComma();

    public DiscoverySource? ToSource(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        // Its id prefixes every server id it makes ("{source}.{name}"), so it is kept short.
        if (!Ids.IsValid(id) || id!.Length > 40) errors.Add("id", $"is required: {Ids.Describe}, at most 40 characters");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        var kind = Kind ?? DiscoverySource.RegistryKind;
        var watched = kind == DiscoverySource.KubernetesKind;
        if (kind is not (DiscoverySource.RegistryKind or DiscoverySource.KubernetesKind))
        {
            errors.Add("kind", $"'{kind}' is not a kind of source: \"registry\" (the MCP Registry API) or \"kubernetes\"");
        }
        var url = (Url ?? "").TrimEnd('/');
        if (!watched || url.Length > 0)
        {
            if (url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Query.Length > 0)
            {
                errors.Add("url", watched
                    ? $"'{Url}' is not an API server's address (absolute http(s), no query); leave it out to watch the silos' own cluster"
                    : $"'{Url}' is not the base URL of a registry (absolute http(s), no query); its servers are read from {{url}}/v0.1/servers");
            }
        }
        var interval = DefaultInterval;
        if (Interval is not null)
        {
            if (!Durations.TryParse(Interval, out interval, out var error)) errors.Add("interval", error);
            else if (interval < DiscoverySource.MinInterval || interval > TimeSpan.FromDays(1)) errors.Add("interval", $"must be from {Durations.Format(DiscoverySource.MinInterval)} to 1d");
        }
        if (NamePattern is not null)
        {
            if (watched) errors.Add("namePattern", "applies to registry sources; a Kubernetes source selects by labelSelector and relabel");
            else CheckRegex(NamePattern, "namePattern", errors);
        }
        if (watched) CheckKubernetes(errors);
        else
        {
            if (Role is not null) errors.Add("role", "applies to Kubernetes sources");
            if (Namespaces is { Length: > 0 }) errors.Add("namespaces", "applies to Kubernetes sources");
            if (LabelSelector is not null) errors.Add("labelSelector", "applies to Kubernetes sources");
        }
        var rules = RelabelRuleRequest.ToRules(Relabel, MaxRules, errors);
        LabelRules.Check(Labels, "labels", errors);
        if (Labels?.ContainsKey("discovery_source") == true) errors.Add("labels", "'discovery_source' is set by discovery itself");
        return errors.Any ? null : new DiscoverySource(id!, kind, url, interval, NamePattern, Labels ?? [], default)
        {
            Role = watched ? Role ?? DiscoverySource.LifecycleRole : null,
            Namespaces = [.. (Namespaces ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            LabelSelector = LabelSelector,
            Relabel = rules,
        };
    }

    private void CheckKubernetes(RequestErrors errors)
    {
        if (Role is not null && !DiscoverySource.Roles.Contains(Role))
        {
            errors.Add("role", $"'{Role}' is not a role: {string.Join(", ", DiscoverySource.Roles.Select(r => $"\"{r}\""))}");
        }
        if (Namespaces is { Length: > 50 }) errors.Add("namespaces", "lists at most 50 namespaces; leave it out to watch them all");
        foreach (var (ns, i) in (Namespaces ?? []).Select((n, i) => (n, i)))
        {
            if (ns is null || !NamespaceName().IsMatch(ns)) errors.Add($"namespaces[{i}]", $"'{ns}' is not a namespace name (lowercase letters, digits and '-', at most 63)");
        }
        if (LabelSelector is not null)
        {
            if (LabelSelector.Length > 1024 || LabelSelector.Trim().Length == 0 || !SelectorComma().Split(LabelSelector).All(t => SelectorTerm().IsMatch(t)))
            {
                errors.Add("labelSelector", $"'{LabelSelector}' is not a Kubernetes label selector (for example \"app=weather,tier!=test\" or \"team in (a,b)\")");
            }
        }
    }

    internal static void CheckRegex(string pattern, string field, RequestErrors errors)
    {
        try
        {
            if (pattern.Length > 500) errors.Add(field, "is at most 500 characters");
            else _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException e)
        {
            errors.Add(field, $"is not a regular expression: {e.Message}");
        }
    }
}

/// <summary>One relabeling rule as written, Prometheus' <c>relabel_configs</c> fields in camel case.</summary>
public sealed record RelabelRuleRequest(string? Action, string[]? SourceLabels, string? Separator, string? Regex, string? TargetLabel, string? Replacement)
{
    public static RelabelRule[] ToRules(RelabelRuleRequest?[]? requests, int max, RequestErrors errors)
    {
        if (requests is null) return [];
        if (requests.Length > max) errors.Add("relabel", $"has {requests.Length} rules; at most {max}");
        var rules = new List<RelabelRule>();
        for (var i = 0; i < requests.Length; i++)
        {
            var field = $"relabel[{i}]";
            if (requests[i] is not { } r)
            {
                errors.Add(field, "is empty");
                continue;
            }
            var action = r.Action ?? "replace";
            if (!RelabelRule.Actions.Contains(action)) errors.Add($"{field}.action", $"'{action}' is not an action: {string.Join(", ", RelabelRule.Actions)}");
            var rule = new RelabelRule(action, r.SourceLabels ?? [], r.Separator ?? ";", r.Regex ?? "(.*)", r.TargetLabel, r.Replacement ?? "$1");
            try
            {
                if (rule.Regex.Length > 500) errors.Add($"{field}.regex", "is at most 500 characters");
                else _ = Relabeling.Compile(rule);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{field}.regex", $"is not a regular expression: {e.Message}");
            }
            if (rule.SourceLabels.Length > 20 || rule.SourceLabels.Any(l => l is null || !Relabeling.LabelName().IsMatch(l)))
            {
                errors.Add($"{field}.sourceLabels", "are at most 20 label names (letters, digits and '_')");
            }
            if (action is "replace" or "lowercase" or "uppercase" && string.IsNullOrEmpty(rule.TargetLabel))
            {
                errors.Add($"{field}.targetLabel", $"is required for '{action}'");
            }
            if (action is "keep" or "drop" && rule.SourceLabels.Length == 0) errors.Add($"{field}.sourceLabels", $"are required for '{action}'");
            if (rule.TargetLabel is { Length: > 128 } || rule.Replacement.Length > 1024 || rule.Separator.Length > 16)
            {
                errors.Add(field, "targetLabel is at most 128 characters, replacement 1,024, separator 16");
            }
            rules.Add(rule);
        }
        return [.. rules];
    }

    public static RelabelRuleRequest From(RelabelRule r) => new(r.Action, r.SourceLabels, r.Separator, r.Regex, r.TargetLabel, r.Replacement);
}

public sealed record DiscoveryStatusResponse(
    DateTimeOffset? LastSyncAt, DateTimeOffset? LastSuccessAt, string? LastError, int Failures, DateTimeOffset? NextSyncAt, string[] Servers, string[] Skipped);

public sealed record DiscoverySourceResponse(
    string Id, string Kind, string Url, string Interval, string? NamePattern, Dictionary<string, string> Labels, DateTimeOffset UpdatedAt, DiscoveryStatusResponse Status,
    string? Role, string[]? Namespaces, string? LabelSelector, RelabelRuleRequest[]? Relabel)
{
    public static DiscoverySourceResponse From(DiscoveryView v) => new(v.Source.Id, v.Source.Kind, v.Source.Url, Durations.Format(v.Source.Interval),
        v.Source.NamePattern, v.Source.Labels, v.Source.UpdatedAt,
        new DiscoveryStatusResponse(v.Status.LastSyncAt, v.Status.LastSuccessAt, v.Status.LastError, v.Status.Failures, v.Status.NextSyncAt, v.Status.Servers, v.Status.Skipped),
        v.Source.Role, v.Source.Namespaces is { Length: > 0 } ns ? ns : null, v.Source.LabelSelector,
        v.Source.Relabel is { Length: > 0 } rules ? [.. rules.Select(RelabelRuleRequest.From)] : null);
}
