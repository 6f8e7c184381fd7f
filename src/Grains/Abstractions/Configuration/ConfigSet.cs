using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Servers;

namespace Monitoring.Configuration;

/// <summary>
/// What one configuration document declares, read and checked field by field: the resources a namespace (a team, a
/// repository) owns. Arrays keep the document's order, so an error found later still names its place in the file.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ConfigSet")]
public sealed record ConfigSet(
    [property: Id(0), JsonPropertyName("Namespace")] string Namespace,
    [property: Id(1), JsonPropertyName("Servers")] McpServer[] Servers,
    [property: Id(2), JsonPropertyName("Rules")] AlertRule[] Rules,
    [property: Id(3), JsonPropertyName("Channels")] NotificationChannel[] Channels,
    [property: Id(4), JsonPropertyName("Policies")] EscalationPolicy[] Policies,
    [property: Id(5), JsonPropertyName("Routing")] RoutingTree? Routing,
    [property: Id(6), JsonPropertyName("TimeIntervals")] TimeInterval[] TimeIntervals,
    [property: Id(7), JsonPropertyName("Inhibitions")] InhibitRule[] Inhibitions)
{
    /// <summary>Servers whose document leaves the probe headers out: an update keeps the stored ones (they are secrets).</summary>
    [Id(8), JsonPropertyName("KeepProbeHeaders")] public string[] KeepProbeHeaders { get; init; } = [];

    /// <summary>The people who can be paged.</summary>
    [Id(9), JsonPropertyName("Users")] public OnCall.User[] Users { get; init; } = [];

    /// <summary>The on-call schedules.</summary>
    [Id(10), JsonPropertyName("Schedules")] public OnCall.Schedule[] Schedules { get; init; } = [];

    /// <summary>Schedules whose document leaves the overrides out: the overrides taken in the console stay.</summary>
    [Id(11), JsonPropertyName("KeepOverrides")] public string[] KeepOverrides { get; init; } = [];

    /// <summary>Heartbeat checks.</summary>
    [Id(12), JsonPropertyName("Heartbeats")] public Heartbeats.HeartbeatCheck[] Heartbeats { get; init; } = [];

    /// <summary>Discovery sources.</summary>
    [Id(13), JsonPropertyName("DiscoverySources")] public Discovery.DiscoverySource[] DiscoverySources { get; init; } = [];

    /// <summary>Service-level objectives.</summary>
    [Id(14), JsonPropertyName("Slos")] public Slo.SloDefinition[] Slos { get; init; } = [];

    [NonSerialized] private Dictionary<ConfigKey, int>? _index;
    [NonSerialized] private HashSet<string>? _keepHeaders;

    public bool KeepsProbeHeaders(string serverId) => (_keepHeaders ??= new HashSet<string>(KeepProbeHeaders, StringComparer.Ordinal)).Contains(serverId);

    public bool KeepsOverrides(string scheduleId) => KeepOverrides.Contains(scheduleId, StringComparer.Ordinal);

    /// <summary>Where a declared resource sits in its list (the routing tree: 0), or -1: one lookup, however large the document.</summary>
    public int IndexOf(ConfigKey key)
    {
        if (_index is null)
        {
            var index = new Dictionary<ConfigKey, int>();
            void Add<T>(T[] items, Func<T, ConfigKey> keyOf)
            {
                for (var i = 0; i < items.Length; i++) index.TryAdd(keyOf(items[i]), i);
            }
            Add(Servers, s => ConfigKey.Server(s.Id));
            Add(Rules, r => ConfigKey.Rule(r.Id));
            Add(Channels, c => ConfigKey.Channel(c.Id));
            Add(Policies, p => ConfigKey.Policy(p.Id));
            Add(Users, u => ConfigKey.User(u.Id));
            Add(Schedules, s => ConfigKey.Schedule(s.Id));
            Add(Heartbeats, h => ConfigKey.Heartbeat(h.Id));
            Add(DiscoverySources, d => ConfigKey.DiscoverySource(d.Id));
            Add(Slos, s => ConfigKey.Slo(s.Id));
            Add(TimeIntervals, t => ConfigKey.TimeInterval(t.Name));
            Add(Inhibitions, i => ConfigKey.Inhibition(i.Id));
            if (Routing is not null) index[ConfigKey.RoutingTree] = 0;
            _index = index;
        }
        return _index.GetValueOrDefault(key, -1);
    }

    /// <summary>Every resource the document declares, by key.</summary>
    [JsonIgnore]
    public IEnumerable<ConfigKey> Keys =>
        Channels.Select(c => ConfigKey.Channel(c.Id))
            .Concat(Users.Select(u => ConfigKey.User(u.Id)))
            .Concat(Schedules.Select(s => ConfigKey.Schedule(s.Id)))
            .Concat(Policies.Select(p => ConfigKey.Policy(p.Id)))
            .Concat(TimeIntervals.Select(t => ConfigKey.TimeInterval(t.Name)))
            .Concat(Inhibitions.Select(i => ConfigKey.Inhibition(i.Id)))
            .Concat(Routing is null ? [] : [ConfigKey.RoutingTree])
            .Concat(Servers.Select(s => ConfigKey.Server(s.Id)))
            .Concat(Rules.Select(r => ConfigKey.Rule(r.Id)))
            .Concat(Heartbeats.Select(h => ConfigKey.Heartbeat(h.Id)))
            .Concat(DiscoverySources.Select(d => ConfigKey.DiscoverySource(d.Id)))
            .Concat(Slos.Select(s => ConfigKey.Slo(s.Id)));
}

/// <summary>The routing tree and its receivers, as one resource: there is one tree in a cluster.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RoutingTree")]
public sealed record RoutingTree(
    [property: Id(0), JsonPropertyName("Root")] Route Root,
    [property: Id(1), JsonPropertyName("Receivers")] Receiver[] Receivers);

/// <summary>One resource by kind and id, as the plan, the owners and the audit name it: "server/payments-1".</summary>
[GenerateSerializer, Immutable, Alias("mcp.ConfigKey")]
public sealed record ConfigKey(
    [property: Id(0), JsonPropertyName("Kind")] string Kind,
    [property: Id(1), JsonPropertyName("Id")] string Id) : IComparable<ConfigKey>
{
    public const string ServerKind = "server";
    public const string RuleKind = "rule";
    public const string ChannelKind = "channel";
    public const string PolicyKind = "escalation-policy";
    public const string RoutingKind = "routing";
    public const string TimeIntervalKind = "time-interval";
    public const string InhibitionKind = "inhibition";
    public const string UserKind = "user";
    public const string ScheduleKind = "schedule";
    public const string HeartbeatKind = "heartbeat";
    public const string DiscoveryKind = "discovery-source";
    public const string SloKind = "slo";

    /// <summary>The order resources are written in: what is referred to before what refers to it. Deletes go the other way.</summary>
    public static readonly string[] WriteOrder = [ChannelKind, UserKind, ScheduleKind, PolicyKind, TimeIntervalKind, InhibitionKind, RoutingKind, ServerKind, RuleKind, HeartbeatKind, DiscoveryKind, SloKind];

    public static ConfigKey Server(string id) => new(ServerKind, id);
    public static ConfigKey Rule(string id) => new(RuleKind, id);
    public static ConfigKey Channel(string id) => new(ChannelKind, id);
    public static ConfigKey Policy(string id) => new(PolicyKind, id);
    public static ConfigKey TimeInterval(string name) => new(TimeIntervalKind, name);
    public static ConfigKey Inhibition(string id) => new(InhibitionKind, id);
    public static ConfigKey User(string id) => new(UserKind, id);
    public static ConfigKey Schedule(string id) => new(ScheduleKind, id);
    public static ConfigKey Heartbeat(string id) => new(HeartbeatKind, id);
    public static ConfigKey DiscoverySource(string id) => new(DiscoveryKind, id);

    public static ConfigKey Slo(string id) => new(SloKind, id);
    public static readonly ConfigKey RoutingTree = new(RoutingKind, "tree");

    public int CompareTo(ConfigKey? other) =>
        other is null ? 1
        : Array.IndexOf(WriteOrder, Kind) - Array.IndexOf(WriteOrder, other.Kind) is var byKind and not 0 ? byKind
        : string.CompareOrdinal(Id, other.Id);

    public override string ToString() => $"{Kind}/{Id}";
}

/// <summary>
/// An apply: the whole document (every value is checked, whatever changes), which of its resources to write (the plan's
/// creates and updates), which owned resources to delete (the plan's prunes), and the namespace version it was planned on.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ConfigApply")]
public sealed record ConfigApply(
    [property: Id(0), JsonPropertyName("Desired")] ConfigSet Desired,
    [property: Id(1), JsonPropertyName("Writes")] ConfigKey[] Writes,
    [property: Id(2), JsonPropertyName("Deletes")] ConfigKey[] Deletes,
    [property: Id(3), JsonPropertyName("ExpectedVersion")] long? ExpectedVersion,
    [property: Id(4), JsonPropertyName("By")] string By,
    [property: Id(5), JsonPropertyName("DryRun")] bool DryRun);

/// <summary>A namespace as applied: its version (the apply's ETag), what it owns, and who applied it last.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ConfigNamespace")]
public sealed record ConfigNamespace(
    [property: Id(0), JsonPropertyName("Name")] string Name,
    [property: Id(1), JsonPropertyName("Version")] long Version,
    [property: Id(2), JsonPropertyName("Owned")] ConfigKey[] Owned,
    [property: Id(3), JsonPropertyName("AppliedAt")] DateTimeOffset? AppliedAt,
    [property: Id(4), JsonPropertyName("AppliedBy")] string? AppliedBy)
{
    public static ConfigNamespace New(string name) => new(name, 0, [], null, null);
}

[GenerateSerializer, Immutable, Alias("mcp.ConfigApplyResult")]
public sealed record ConfigApplyResult(
    [property: Id(0)] WriteResult Result,
    [property: Id(1)] long PreviousVersion,
    [property: Id(2)] long Version);

/// <summary>
/// Who owns what, and the one place a document is applied: one apply at a time, checked whole before anything is
/// written, journaled so that an apply cut short by a silo's death is carried to its end by the next activation.
/// </summary>
[Alias("mcp.IConfigGrain")]
public interface IConfigGrain : IGrainWithStringKey
{
    public const string Key = "all";

    Task<ConfigNamespace[]> GetNamespacesAsync();

    /// <summary>A document of thousands of servers takes longer than a call usually may: it answers when it is all written.</summary>
    [ResponseTimeout("00:10:00")]
    Task<ConfigApplyResult> ApplyAsync(ConfigApply apply);
}
