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
/// The set of all rules, versioned. Rules are few and change rarely, so one catalog holds them and pushes
/// each change to the server grains, which cache it; evaluation never calls the catalog.
/// </summary>
[Alias("mcp.IRuleCatalogGrain")]
public interface IRuleCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [AlwaysInterleave]
    Task<RuleSet> GetAsync();

    Task UpsertAsync(AlertRule rule);

    Task RemoveAsync(string ruleId);

    [AlwaysInterleave]
    Task<string[]> RulesUsingChannelAsync(string channelId);

    Task<string[]> RulesUsingPolicyAsync(string policyId);
}
