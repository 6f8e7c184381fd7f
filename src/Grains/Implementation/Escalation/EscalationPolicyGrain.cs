using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Listings;
using Monitoring.Rules;

namespace Monitoring.Escalation;

[GenerateSerializer, Alias("mcp.EscalationPolicyState")]
public sealed class EscalationPolicyState
{
    [Id(0), JsonPropertyName("Policy")] public EscalationPolicy? Policy { get; set; }
}

/// <summary>One escalation policy. Alerts take a copy when they fire, so an edit applies to the next episode.</summary>
[GrainType("escalationpolicy")]
public sealed class EscalationPolicyGrain(
    [PersistentState("policy", StorageNames.Rules)] IPersistentState<EscalationPolicyState> state,
    IListingStore listings,
    TimeProvider time,
    ILogger<EscalationPolicyGrain> logger)
    : Grain, IEscalationPolicyGrain
{
    private string PolicyId => this.GetPrimaryKeyString();

    public Task<WriteResult> CreateAsync(EscalationPolicy policy) =>
        state.State.Policy is not null ? Task.FromResult(WriteResult.Duplicate(PolicyId)) : SaveAsync(policy);

    public Task<WriteResult> UpdateAsync(EscalationPolicy policy) =>
        state.State.Policy is null ? Task.FromResult(WriteResult.NotFound) : SaveAsync(policy);

    public async Task<WriteResult> DeleteAsync()
    {
        if (state.State.Policy is null)
        {
            return WriteResult.NotFound;
        }
        var rules = await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).RulesUsingPolicyAsync(PolicyId);
        if (rules.Length > 0)
        {
            return WriteResult.Conflict($"escalation policy '{PolicyId}' is used by rules: {string.Join(", ", rules)}; change those rules first");
        }
        await state.ClearStateAsync();
        state.State = new EscalationPolicyState();
        await listings.RemoveAsync<PolicyEntry>(PolicyId);
        logger.LogInformation("Escalation policy {PolicyId} deleted", PolicyId);
        return WriteResult.Ok;
    }

    public Task<EscalationPolicy?> GetAsync() => Task.FromResult(state.State.Policy);

    private async Task<WriteResult> SaveAsync(EscalationPolicy policy)
    {
        if (policy.Id != PolicyId)
        {
            return WriteResult.Invalid("id", $"the body's id '{policy.Id}' differs from '{PolicyId}'");
        }
        var errors = new List<FieldError>();
        for (var level = 0; level < policy.Levels.Length; level++)
        {
            await ChannelLookup.AddUnknownAsync(GrainFactory, policy.Levels[level].Channels, $"levels[{level}].channels", errors);
        }
        await OnCall.UserLookup.AddUnknownAsync(GrainFactory, policy.Levels.SelectMany((l, i) => l.Users.Select((u, j) => ($"levels[{i}].users[{j}]", u))), errors);
        await OnCall.ScheduleLookup.AddUnknownAsync(listings, policy.Levels.SelectMany((l, i) => l.Schedules.Select((s, j) => ($"levels[{i}].schedules[{j}]", s))), errors);
        if (errors.Count > 0)
        {
            return WriteResult.Invalid([.. errors]);
        }
        state.State.Policy = policy with { UpdatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        await listings.UpsertAsync(new PolicyEntry(state.State.Policy));
        logger.LogInformation("Escalation policy {PolicyId} saved with {LevelCount} levels", PolicyId, policy.Levels.Length);
        return WriteResult.Ok;
    }

}
