using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Listings;

[GenerateSerializer, Immutable, Alias("mcp.ServerEntry")]
public sealed record ServerEntry([property: Id(0), JsonPropertyName("Server")] McpServer Server) : IListingEntry<ServerEntry>
{
    public static string Kind => "servers";

    /// <summary>The server's health verdict when it was last listed: healthy, degraded, unhealthy or unknown.</summary>
    [Id(1), JsonPropertyName("Health")] public string Health { get; init; } = "unknown";

    [System.Text.Json.Serialization.JsonIgnore]

    public string Id => Server.Id;
    [System.Text.Json.Serialization.JsonIgnore]
    public long Version => Server.UpdatedAt.UtcTicks;
    public string? Field(string name) => name switch
    {
        "enabled" => Server.Enabled ? "true" : "false",
        "health" => Health,
        _ => Server.Labels.GetValueOrDefault(name),
    };
    public Dictionary<string, string> Fields() => new(Server.Labels) { ["enabled"] = Server.Enabled ? "true" : "false", ["health"] = Health };
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
