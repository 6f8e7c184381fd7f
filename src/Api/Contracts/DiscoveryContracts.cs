using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Discovery;

namespace Monitoring.Api.Contracts;

/// <summary>A discovery source as written: a registry's URL, how often to poll it, a name pattern, labels for its servers.</summary>
public sealed record DiscoverySourceRequest(string? Id, string? Kind, string? Url, string? Interval, string? NamePattern, Dictionary<string, string>? Labels)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(5);

    public DiscoverySource? ToSource(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        // Its id prefixes every server id it makes ("{source}.{name}"), so it is kept short.
        if (!Ids.IsValid(id) || id!.Length > 40) errors.Add("id", $"is required: {Ids.Describe}, at most 40 characters");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        var kind = Kind ?? DiscoverySource.RegistryKind;
        if (kind != DiscoverySource.RegistryKind) errors.Add("kind", $"'{kind}' is not a kind of source this cluster polls; it polls \"registry\" (the MCP Registry API)");
        if (Url is null || Url.Length > 2048 || !Uri.TryCreate(Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Query.Length > 0)
        {
            errors.Add("url", $"'{Url}' is not the base URL of a registry (absolute http(s), no query); its servers are read from {{url}}/v0.1/servers");
        }
        var interval = DefaultInterval;
        if (Interval is not null)
        {
            if (!Durations.TryParse(Interval, out interval, out var error)) errors.Add("interval", error);
            else if (interval < DiscoverySource.MinInterval || interval > TimeSpan.FromDays(1)) errors.Add("interval", $"must be from {Durations.Format(DiscoverySource.MinInterval)} to 1d");
        }
        if (NamePattern is not null)
        {
            try
            {
                if (NamePattern.Length > 500) errors.Add("namePattern", "is at most 500 characters");
                else _ = new Regex(NamePattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException e)
            {
                errors.Add("namePattern", $"is not a regular expression: {e.Message}");
            }
        }
        LabelRules.Check(Labels, "labels", errors);
        if (Labels?.ContainsKey("discovery_source") == true) errors.Add("labels", "'discovery_source' is set by discovery itself");
        return errors.Any ? null : new DiscoverySource(id!, kind, Url!.TrimEnd('/'), interval, NamePattern, Labels ?? [], default);
    }
}

public sealed record DiscoveryStatusResponse(
    DateTimeOffset? LastSyncAt, DateTimeOffset? LastSuccessAt, string? LastError, int Failures, DateTimeOffset? NextSyncAt, string[] Servers, string[] Skipped);

public sealed record DiscoverySourceResponse(
    string Id, string Kind, string Url, string Interval, string? NamePattern, Dictionary<string, string> Labels, DateTimeOffset UpdatedAt, DiscoveryStatusResponse Status)
{
    public static DiscoverySourceResponse From(DiscoveryView v) => new(v.Source.Id, v.Source.Kind, v.Source.Url, Durations.Format(v.Source.Interval),
        v.Source.NamePattern, v.Source.Labels, v.Source.UpdatedAt,
        new DiscoveryStatusResponse(v.Status.LastSyncAt, v.Status.LastSuccessAt, v.Status.LastError, v.Status.Failures, v.Status.NextSyncAt, v.Status.Servers, v.Status.Skipped));
}
