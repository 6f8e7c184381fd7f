using Monitoring.Common;

namespace Monitoring.Rules;

/// <summary>One alert rule. Writes go through here; the catalog distributes them to the servers.</summary>
[Alias("mcp.IAlertRuleGrain")]
public interface IAlertRuleGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(AlertRule rule);

    Task<WriteResult> UpdateAsync(AlertRule rule);

    Task<bool> DeleteAsync();

    Task<AlertRule?> GetAsync();
}

/// <summary>
/// The set of all rules, versioned. A write returns once the catalog holds the new version; nothing is pushed. Each
/// silo keeps a copy it refreshes every second (asking only whether the version moved), and every server applies a
/// newer version on its next evaluation, at once when its silo's watcher tells it.
/// </summary>
[Alias("mcp.IRuleCatalogGrain")]
public interface IRuleCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [AlwaysInterleave]
    Task<RuleSet> GetAsync();

    /// <summary>The set, or null when <paramref name="knownVersion"/> is current. <paramref name="reader"/> (a silo) is remembered with the version it holds.</summary>
    [AlwaysInterleave]
    Task<RuleSet?> GetIfChangedAsync(long knownVersion, string reader);

    /// <summary>The catalog's version and the lowest version any silo's copy held when it last asked (within a minute).</summary>
    [AlwaysInterleave]
    Task<RuleVersions> GetVersionsAsync();

    Task UpsertAsync(AlertRule rule);

    Task RemoveAsync(string ruleId);

    [AlwaysInterleave]
    Task<string[]> RulesUsingChannelAsync(string channelId);

    Task<string[]> RulesUsingPolicyAsync(string policyId);
}

/// <summary>The catalog's version, and the version every silo applies (the lowest any copy holds).</summary>
[GenerateSerializer, Immutable, Alias("mcp.RuleVersions")]
public sealed record RuleVersions([property: Id(0)] long Version, [property: Id(1)] long Applied, [property: Id(2)] int Readers);
