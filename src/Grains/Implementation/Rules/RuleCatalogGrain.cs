using Monitoring.Settings;
using Monitoring.Listings;
using Monitoring.Servers;

namespace Monitoring.Rules;

[GenerateSerializer, Alias("mcp.RuleCatalogState")]
public sealed class RuleCatalogState
{
    [Id(0), JsonPropertyName("Rules")] public RuleSet Rules { get; set; } = RuleSet.Empty;
}

/// <summary>Holds every rule at a version and pushes each new version to every registered server.</summary>
[GrainType("rulecatalog")]
public sealed class RuleCatalogGrain(
    [PersistentState("catalog", StorageNames.Rules)] IPersistentState<RuleCatalogState> state,
    IListingStore listings,
    ILogger<RuleCatalogGrain> logger)
    : Grain, IRuleCatalogGrain
{
    public Task<RuleSet> GetAsync() => Task.FromResult(state.State.Rules);

    public async Task UpsertAsync(AlertRule rule)
    {
        var rules = state.State.Rules.Rules.Where(r => r.Id != rule.Id).Append(rule).OrderBy(r => r.Id, StringComparer.Ordinal);
        await PublishAsync(new RuleSet(state.State.Rules.Version + 1, [.. rules]));
    }

    public async Task RemoveAsync(string ruleId)
    {
        if (state.State.Rules.Rules.All(r => r.Id != ruleId))
        {
            return;
        }
        await PublishAsync(new RuleSet(state.State.Rules.Version + 1, [.. state.State.Rules.Rules.Where(r => r.Id != ruleId)]));
    }

    public Task<string[]> RulesUsingChannelAsync(string channelId) => Task.FromResult(
        state.State.Rules.Rules
            .Where(r => r.Channels.Contains(channelId) || r.EscalationChannels.Contains(channelId))
            .Select(r => r.Id)
            .ToArray());

    public Task<string[]> RulesUsingPolicyAsync(string policyId) => Task.FromResult(
        state.State.Rules.Rules.Where(r => r.EscalationPolicy == policyId).Select(r => r.Id).ToArray());

    private async Task PublishAsync(RuleSet rules)
    {
        state.State.Rules = rules;
        await state.WriteStateAsync();

        // Every server learns of every change: a selector edit may drop a server that has an open alert to close.
        var (servers, _) = await listings.QueryAsync<ServerEntry>([], int.MaxValue, 0);
        var ids = servers.Select(e => e.Id).ToList();
        await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IMcpServerGrain>(id).RulesChangedAsync(rules)));
        logger.LogInformation("Rule catalog at version {Version} pushed to {ServerCount} servers", rules.Version, ids.Count);
    }
}
