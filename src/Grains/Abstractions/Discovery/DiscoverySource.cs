using Monitoring.Common;

namespace Monitoring.Discovery;

/// <summary>
/// Where servers register themselves from. <see cref="RegistryKind"/>: a registry serving the MCP Registry API
/// (<c>GET {Url}/v0.1/servers</c>), polled every <see cref="Interval"/>, whose remote (streamable-http or SSE)
/// endpoints become servers, those whose name matches <see cref="NamePattern"/> when it is given. Each discovered server
/// carries <see cref="Labels"/> and <c>discovery_source</c>.
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
    public const string RegistryKind = "registry";
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    public const int MaxServers = 10_000;
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
}
