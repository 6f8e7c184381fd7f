using Monitoring.Common;

namespace Monitoring.Discovery;

/// <summary>
/// Where servers register themselves from.
/// <list type="bullet">
/// <item><see cref="RegistryKind"/>: a registry serving the MCP Registry API (<c>GET {Url}/v0.1/servers</c>), polled
/// every <see cref="Interval"/>, whose remote (streamable-http or SSE) endpoints become servers, those whose name matches
/// <see cref="NamePattern"/> when it is given.</item>
/// <item><see cref="KubernetesKind"/>: resources of one <see cref="Role"/> watched on a Kubernetes API server
/// (<see cref="Url"/>, or the silo's own cluster through its service account when empty), in <see cref="Namespaces"/>
/// (all when empty) and matching <see cref="LabelSelector"/>. <see cref="Interval"/> is how often a stalled watch is
/// checked.</item>
/// </list>
/// Each discovered server carries <see cref="Labels"/>, <c>discovery_source</c>, and what <see cref="Relabel"/> makes of
/// the source's meta labels.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.DiscoverySource")]
public sealed record DiscoverySource(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Kind")] string Kind,
    [property: Id(2), JsonPropertyName("Url")] string Url,
    [property: Id(3), JsonPropertyName("Interval")] TimeSpan Interval,
    [property: Id(4), JsonPropertyName("NamePattern")] string? NamePattern,
    [property: Id(5), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(6), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    [Id(7), JsonPropertyName("Role")] public string? Role { get; init; }

    [Id(8), JsonPropertyName("Namespaces")] public string[] Namespaces { get; init; } = [];

    [Id(9), JsonPropertyName("LabelSelector")] public string? LabelSelector { get; init; }

    [Id(10), JsonPropertyName("Relabel")] public RelabelRule[] Relabel { get; init; } = [];

    public const string RegistryKind = "registry";
    public const string KubernetesKind = "kubernetes";

    /// <summary>What a Kubernetes source watches: the lifecycle operator's and ToolHive's <c>MCPServer</c>s, annotated services, annotated pods.</summary>
    public static readonly string[] Roles = [LifecycleRole, ToolHiveRole, ServiceRole, PodRole];
    public const string LifecycleRole = "mcpserver";
    public const string ToolHiveRole = "toolhive";
    public const string ServiceRole = "service";
    public const string PodRole = "pod";
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    public const int MaxServers = 10_000;
}

/// <summary>
/// One relabeling step, as Prometheus' <c>relabel_configs</c> has it: the values of <see cref="SourceLabels"/> joined
/// by <see cref="Separator"/> are matched against <see cref="Regex"/> (anchored at both ends); <c>replace</c> writes
/// <see cref="Replacement"/> (with <c>$1</c>…) into <see cref="TargetLabel"/>, <c>keep</c> and <c>drop</c> keep or drop the
/// whole server, <c>labelmap</c> copies the labels whose names match under new names, <c>labeldrop</c> and
/// <c>labelkeep</c> remove labels by name, <c>lowercase</c> and <c>uppercase</c> write the joined value so.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.RelabelRule")]
public sealed record RelabelRule(
    [property: Id(0), JsonPropertyName("Action")] string Action,
    [property: Id(1), JsonPropertyName("SourceLabels")] string[] SourceLabels,
    [property: Id(2), JsonPropertyName("Separator")] string Separator,
    [property: Id(3), JsonPropertyName("Regex")] string Regex,
    [property: Id(4), JsonPropertyName("TargetLabel")] string? TargetLabel,
    [property: Id(5), JsonPropertyName("Replacement")] string Replacement)
{
    public static readonly string[] Actions = ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase"];
}

/// <summary>How a source's polls go: when, whether the last one worked, and what it registered or left out.</summary>
[GenerateSerializer, Immutable, Alias("mcp.DiscoveryStatus")]
public sealed record DiscoveryStatus(
    [property: Id(0), JsonPropertyName("LastSyncAt")] DateTimeOffset? LastSyncAt,
    [property: Id(1), JsonPropertyName("LastSuccessAt")] DateTimeOffset? LastSuccessAt,
    [property: Id(2), JsonPropertyName("LastError")] string? LastError,
    [property: Id(3), JsonPropertyName("Failures")] int Failures,
    [property: Id(4), JsonPropertyName("NextSyncAt")] DateTimeOffset? NextSyncAt,
    [property: Id(5), JsonPropertyName("Servers")] string[] Servers,
    [property: Id(6), JsonPropertyName("Skipped")] string[] Skipped)
{
    public static readonly DiscoveryStatus None = new(null, null, null, 0, null, [], []);
}

[GenerateSerializer, Immutable, Alias("mcp.DiscoveryView")]
public sealed record DiscoveryView(
    [property: Id(0), JsonPropertyName("Source")] DiscoverySource Source,
    [property: Id(1), JsonPropertyName("Status")] DiscoveryStatus Status);

/// <summary>One discovery source: it polls on its own, and owns the servers it registered.</summary>
[Alias("mcp.IDiscoverySourceGrain")]
public interface IDiscoverySourceGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(DiscoverySource source);

    Task<WriteResult> UpdateAsync(DiscoverySource source);

    /// <summary>Deletes the source and deregisters every server it registered.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<DiscoveryView?> GetAsync();

    /// <summary>Polls now; answers how it went (null when there is no such source).</summary>
    [ResponseTimeout("00:05:00")]
    Task<DiscoveryView?> SyncAsync();

    /// <summary>A Kubernetes source's watches hand it what they saw (only they call this).</summary>
    [ResponseTimeout("00:05:00")]
    Task ApplyWatchAsync(WatchBatch batch);
}

/// <summary>
/// One watched Kubernetes object as discovery reads it: <see cref="Ref"/> (<c>namespace/name</c>) and the servers it
/// yields. <see cref="Servers"/> is null while the object is not ready (not verified, not running): a server it had
/// stays, none is added. Empty: it yields nothing (deleted, dropped by relabeling, no endpoint).
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.WatchedObject")]
public sealed record WatchedObject([property: Id(0)] string Ref, [property: Id(1)] Servers.McpServer[]? Servers);

/// <summary>
/// What one Kubernetes watch hands its source: a full listing of <see cref="Scope"/> (a namespace, or "" for all)
/// when <see cref="Snapshot"/>, else events in order; or, with <see cref="Error"/>, that the watch failed and retries.
/// <see cref="Generation"/> names the set of watches it came from: a batch from watches since replaced is ignored.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.WatchBatch")]
public sealed record WatchBatch(
    [property: Id(0)] string Scope,
    [property: Id(1)] bool Snapshot,
    [property: Id(2)] WatchedObject[] Objects,
    [property: Id(3)] string? Error,
    [property: Id(4)] int Generation);
