using System.Collections.Concurrent;
using Monitoring.Settings;

namespace Monitoring.Rules;

[GenerateSerializer, Alias("mcp.RuleCatalogState")]
public sealed class RuleCatalogState
{
    [Id(0), JsonPropertyName("Rules")] public RuleSet Rules { get; set; } = RuleSet.Empty;
}

/// <summary>
/// Every rule at a version. A write stores the new version and returns: readers pull it (each silo's
/// <see cref="RuleCache"/>), so a change costs the same whether 10 or 100,000 servers are registered, and a server
/// that cannot be reached cannot fail the write.
/// </summary>
[GrainType("rulecatalog")]
public sealed class RuleCatalogGrain(
    [PersistentState("catalog", StorageNames.Rules)] IPersistentState<RuleCatalogState> state,
    RuleCache cache,
    TimeProvider time,
    ILogger<RuleCatalogGrain> logger)
    : Grain, IRuleCatalogGrain
{
    private static readonly TimeSpan ReaderTimeout = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (long Version, DateTimeOffset At)> _readers = new(StringComparer.Ordinal);

    public Task<RuleSet> GetAsync() => Task.FromResult(state.State.Rules);

    public Task<RuleSet?> GetIfChangedAsync(long knownVersion, string reader)
    {
        var current = state.State.Rules;
        // The reader holds the current version after this answer, whichever it is.
        _readers[reader] = (current.Version, time.GetUtcNow());
        return Task.FromResult(current.Version == knownVersion ? null : current);
    }

    public Task<RuleVersions> GetVersionsAsync()
    {
        var now = time.GetUtcNow();
        var live = _readers.Where(r => now - r.Value.At < ReaderTimeout).Select(r => r.Value.Version).ToList();
        var version = state.State.Rules.Version;
        return Task.FromResult(new RuleVersions(version, live.Count == 0 ? version : live.Min(), live.Count));
    }

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
        // This silo's copy learns at once; the others within a second.
        cache.Invalidate();
        logger.LogInformation("Rule catalog at version {Version} ({RuleCount} rules)", rules.Version, rules.Rules.Length);
    }
}
