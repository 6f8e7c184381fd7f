using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Listings;

[GenerateSerializer, Immutable]
public sealed record ServerEntry([property: Id(0)] McpServer Server) : IListingEntry<ServerEntry>
{
    public static string Kind => "servers";

    /// <summary>The server's health verdict when it was last listed: healthy, degraded, unhealthy or unknown.</summary>
    [Id(1)] public string Health { get; init; } = "unknown";

    public string Id => Server.Id;
    public long Version => Server.UpdatedAt.UtcTicks;
    public string? Field(string name) => name switch
    {
        "enabled" => Server.Enabled ? "true" : "false",
        "health" => Health,
        _ => Server.Labels.GetValueOrDefault(name),
    };
    public Dictionary<string, string> Fields() => new(Server.Labels) { ["enabled"] = Server.Enabled ? "true" : "false", ["health"] = Health };
}

[GenerateSerializer, Immutable]
public sealed record ChannelEntry([property: Id(0)] ChannelView Channel) : IListingEntry<ChannelEntry>
{
    public static string Kind => "channels";
    public string Id => Channel.Id;
    public long Version => Channel.UpdatedAt.UtcTicks;
    public string? Field(string name) => name == "type" ? Channel.Type : null;
    public Dictionary<string, string> Fields() => new() { ["type"] = Channel.Type };
}

[GenerateSerializer, Immutable]
public sealed record PolicyEntry([property: Id(0)] Escalation.EscalationPolicy Policy) : IListingEntry<PolicyEntry>
{
    public static string Kind => "escalation-policies";
    public string Id => Policy.Id;
    public long Version => Policy.UpdatedAt.UtcTicks;
    public string? Field(string name) => null;
    public Dictionary<string, string> Fields() => [];
}

[GenerateSerializer, Immutable]
public sealed record AlertEntry(
    [property: Id(0)] string AlertId,
    [property: Id(1)] string RuleId,
    [property: Id(2)] string ServerId,
    [property: Id(3)] string RuleName,
    [property: Id(4)] Severity Severity,
    [property: Id(5)] AlertStatus Status,
    [property: Id(6)] string Message,
    [property: Id(7)] DateTimeOffset? FiredAt,
    [property: Id(8)] DateTimeOffset UpdatedAt,
    [property: Id(9)] long Sequence) : IListingEntry<AlertEntry>
{
    public static string Kind => "alerts";
    public string Id => AlertId;
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
