using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Api.Contracts;

public sealed record ServerRequest(string? Id, string? Name, string? Endpoint, Dictionary<string, string>? Labels, bool? Enabled)
{
    public McpServer? ToServer(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200) errors.Add("name", "is required, at most 200 characters");
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            errors.Add("endpoint", "is required: the absolute http(s) URL of the server's MCP endpoint");
        }
        LabelRules.Check(Labels, "labels", errors);
        return errors.Any ? null : new McpServer(id!, Name!, Endpoint!, Labels ?? [], Enabled ?? true, default, default);
    }
}

public sealed record ServerResponse(
    string Id, string Name, string Endpoint, Dictionary<string, string> Labels, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ServerResponse From(McpServer s) => new(s.Id, s.Name, s.Endpoint, s.Labels, s.Enabled, s.CreatedAt, s.UpdatedAt);
}

public sealed record ServerStatusResponse(
    string Id, string Name, string Endpoint, Dictionary<string, string> Labels, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    Dictionary<string, double> Metrics, DateTimeOffset? LastTelemetryAt, long RequestsInWindow, string[] OpenAlerts)
{
    public static ServerStatusResponse From(ServerStatus status)
    {
        var s = status.Server;
        return new(s.Id, s.Name, s.Endpoint, s.Labels, s.Enabled, s.CreatedAt, s.UpdatedAt,
            status.Metrics, status.LastTelemetryAt, status.RequestsInWindow, status.OpenAlerts);
    }
}

public static partial class LabelRules
{
    public const int MaxCount = 64;
    public const int MaxValueLength = 1024;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex NamePattern();

    public static void Check(Dictionary<string, string>? labels, string field, RequestErrors errors)
    {
        if (labels is null) return;
        if (labels.Count > MaxCount) errors.Add(field, $"has {labels.Count} entries; at most {MaxCount} are allowed");
        foreach (var (name, value) in labels)
        {
            if (!NamePattern().IsMatch(name)) errors.Add($"{field}.{name}", "label names are 1-128 of letters, digits and '_', not starting with a digit");
            if (value is null || value.Length > MaxValueLength) errors.Add($"{field}.{name}", $"label values are strings of at most {MaxValueLength} characters");
        }
    }
}
