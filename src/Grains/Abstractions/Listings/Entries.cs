using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Listings;

/// <summary>
/// A server as the fleet listing shows it: its registration, health verdict and reasons, the main metrics and how many
/// alerts are open on it. Written when the verdict, <c>up</c> or the open alerts change, and with fresh metrics at most
/// once a minute.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerEntry")]
public sealed record ServerEntry([property: Id(0), JsonPropertyName("Server")] McpServer Server) : IListingEntry<ServerEntry>
{
    /// <summary>The metrics the listing carries, filters and sorts by.</summary>
    public static readonly string[] ListedMetrics = ["up", "error_rate", "p95_response_time", "probe_latency_seconds", "requests_per_second", "data_age_seconds"];

    public static string Kind => "servers";

    /// <summary>The fleet's "what is wrong" order: unhealthy, degraded, unknown, then healthy.</summary>
    public static readonly RankedField[] WorstFirst = [new("health", ["unhealthy", "degraded", "unknown", "healthy"])];

    /// <summary>The server's health verdict when it was last listed: healthy, degraded, unhealthy or unknown.</summary>
    [Id(1), JsonPropertyName("Health")] public string Health { get; init; } = "unknown";

    [Id(2), JsonPropertyName("HealthReasons")] public string[] HealthReasons { get; init; } = [];

    /// <summary>Of <see cref="ListedMetrics"/>, those with a value.</summary>
    [Id(3), JsonPropertyName("Metrics")] public Dictionary<string, double> Metrics { get; init; } = [];

    [Id(4), JsonPropertyName("OpenAlerts")] public int OpenAlerts { get; init; }

    [Id(5), JsonPropertyName("ListedAt")] public DateTimeOffset ListedAt { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Server.Id;

    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Math.Max(Server.UpdatedAt.UtcTicks, ListedAt.UtcTicks);

    public string? Field(string name) => name switch
    {
        "enabled" => Server.Enabled ? "true" : "false",
        "health" => Health,
        "name" => Server.Name,
        "openAlerts" => OpenAlerts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ when Metrics.TryGetValue(name, out var value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Server.Labels.GetValueOrDefault(name),
    };

    public Dictionary<string, string> Fields()
    {
        var fields = new Dictionary<string, string>(Server.Labels)
        {
            ["enabled"] = Server.Enabled ? "true" : "false",
            ["health"] = Health,
            ["name"] = Server.Name,
            ["openAlerts"] = OpenAlerts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (metric, value) in Metrics) fields[metric] = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return fields;
    }

    /// <summary>What a text search looks in: the id and the name.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string SearchText => $"{Server.Id} {Server.Name}";
}

[GenerateSerializer, Immutable, Alias("mcp.ChannelEntry")]
public sealed record ChannelEntry([property: Id(0), JsonPropertyName("Channel")] ChannelView Channel) : IListingEntry<ChannelEntry>
{
    public static string Kind => "channels";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Channel.Id;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Channel.UpdatedAt.UtcTicks;
    public string? Field(string name) => name == "type" ? Channel.Type : null;
    public Dictionary<string, string> Fields() => new() { ["type"] = Channel.Type };
}

[GenerateSerializer, Immutable, Alias("mcp.PolicyEntry")]
public sealed record PolicyEntry([property: Id(0), JsonPropertyName("Policy")] Escalation.EscalationPolicy Policy) : IListingEntry<PolicyEntry>
{
    public static string Kind => "escalation-policies";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Policy.Id;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Policy.UpdatedAt.UtcTicks;
    public string? Field(string name) => null;
    public Dictionary<string, string> Fields() => [];
}

[GenerateSerializer, Immutable, Alias("mcp.AlertEntry")]
public sealed record AlertEntry(
    [property: Id(0), JsonPropertyName("AlertId")] string AlertId,
    [property: Id(1), JsonPropertyName("RuleId")] string RuleId,
    [property: Id(2), JsonPropertyName("ServerId")] string ServerId,
    [property: Id(3), JsonPropertyName("RuleName")] string RuleName,
    [property: Id(4), JsonPropertyName("Severity")] Severity Severity,
    [property: Id(5), JsonPropertyName("Status")] AlertStatus Status,
    [property: Id(6), JsonPropertyName("Message")] string Message,
    [property: Id(7), JsonPropertyName("FiredAt")] DateTimeOffset? FiredAt,
    [property: Id(8), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt,
    [property: Id(9), JsonPropertyName("Sequence")] long Sequence) : IListingEntry<AlertEntry>
{
    public static string Kind => "alerts";

    /// <summary>What pages first: escalated and firing before pending, acknowledged, muted and resolved; the most severe first within each.</summary>
    public static readonly RankedField[] WorstFirst =
    [
        new("status", ["escalated", "firing", "pending", "acknowledged", "suppressed", "silenced", "resolved", "inactive"]),
        new("severity", ["emergency", "critical", "warning", "info"]),
    ];
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => AlertId;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Sequence;
    public string? Field(string name) => name switch
    {
        "status" => Status.ToString().ToLowerInvariant(),
        "severity" => Severity.ToString().ToLowerInvariant(),
        "serverId" => ServerId,
        "ruleId" => RuleId,
        _ => null,
    };
    public Dictionary<string, string> Fields() => new()
    {
        ["status"] = Status.ToString().ToLowerInvariant(),
        ["severity"] = Severity.ToString().ToLowerInvariant(),
        ["serverId"] = ServerId,
        ["ruleId"] = RuleId,
    };
}

[GenerateSerializer, Immutable, Alias("mcp.UserEntry")]
public sealed record UserEntry([property: Id(0), JsonPropertyName("User")] OnCall.User User) : IListingEntry<UserEntry>
{
    public static string Kind => "users";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => User.Id;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => User.UpdatedAt.UtcTicks;
    public string? Field(string name) => null;
    public Dictionary<string, string> Fields() => [];
}

[GenerateSerializer, Immutable, Alias("mcp.ScheduleEntry")]
public sealed record ScheduleEntry([property: Id(0), JsonPropertyName("Schedule")] OnCall.Schedule Schedule) : IListingEntry<ScheduleEntry>
{
    public static string Kind => "schedules";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Schedule.Id;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Schedule.UpdatedAt.UtcTicks;
    public string? Field(string name) => null;
    public Dictionary<string, string> Fields() => [];
}

[GenerateSerializer, Immutable, Alias("mcp.HeartbeatEntry")]
public sealed record HeartbeatEntry(
    [property: Id(0), JsonPropertyName("View")] Heartbeats.HeartbeatView View,
    [property: Id(1), JsonPropertyName("Version")] long Version) : IListingEntry<HeartbeatEntry>
{
    public static string Kind => "heartbeats";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => View.Check.Id;
    public string? Field(string name) => name == "status" ? View.Status.ToString().ToLowerInvariant() : null;
    public Dictionary<string, string> Fields() => new() { ["status"] = View.Status.ToString().ToLowerInvariant() };
}

[GenerateSerializer, Immutable, Alias("mcp.DiscoveryEntry")]
public sealed record DiscoveryEntry(
    [property: Id(0), JsonPropertyName("View")] Discovery.DiscoveryView View,
    [property: Id(1), JsonPropertyName("Version")] long Version) : IListingEntry<DiscoveryEntry>
{
    public static string Kind => "discovery-sources";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => View.Source.Id;
    public string? Field(string name) => null;
    public Dictionary<string, string> Fields() => [];
}

/// <summary>An objective as its listing shows it (its rows stay with its grain): sorted by the least budget remaining.</summary>
[GenerateSerializer, Immutable, Alias("mcp.SloEntry")]
public sealed record SloEntry(
    [property: Id(0), JsonPropertyName("Definition")] Slo.SloDefinition Definition,
    [property: Id(1), JsonPropertyName("EvaluatedAt")] DateTimeOffset? EvaluatedAt,
    [property: Id(2), JsonPropertyName("WorstBudget")] double? WorstBudget,
    [property: Id(3), JsonPropertyName("Servers")] int Servers,
    [property: Id(4), JsonPropertyName("Firing")] int Firing,
    [property: Id(5), JsonPropertyName("Version")] long Version) : IListingEntry<SloEntry>
{
    public static string Kind => "slos";
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Definition.Id;
    public string? Field(string name) => name == "budget" && WorstBudget is { } b ? b.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : null;
    public Dictionary<string, string> Fields() => Field("budget") is { } b ? new() { ["budget"] = b } : [];
}
