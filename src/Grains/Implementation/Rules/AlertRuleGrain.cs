using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Rules.Conditions;

namespace Monitoring.Rules;

[GenerateSerializer, Alias("mcp.AlertRuleState")]
public sealed class AlertRuleState
{
    [Id(0), JsonPropertyName("Rule")] public AlertRule? Rule { get; set; }
}

[GrainType("alertrule")]
public sealed class AlertRuleGrain(
    [PersistentState("rule", StorageNames.Rules)] IPersistentState<AlertRuleState> state,
    ILogger<AlertRuleGrain> logger)
    : Grain, IAlertRuleGrain
{
    private string RuleId => this.GetPrimaryKeyString();

    public async Task<WriteResult> CreateAsync(AlertRule rule)
    {
        if (state.State.Rule is not null)
        {
            return WriteResult.Duplicate(RuleId);
        }
        return await SaveAsync(rule);
    }

    public async Task<WriteResult> UpdateAsync(AlertRule rule)
    {
        if (state.State.Rule is null)
        {
            return WriteResult.NotFound;
        }
        return await SaveAsync(rule);
    }

    public async Task<bool> DeleteAsync()
    {
        if (state.State.Rule is null)
        {
            return false;
        }
        await state.ClearStateAsync();
        await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).RemoveAsync(RuleId);
        logger.LogInformation("Rule {RuleId} deleted", RuleId);
        return true;
    }

    public Task<AlertRule?> GetAsync() => Task.FromResult(state.State.Rule);

    private async Task<WriteResult> SaveAsync(AlertRule rule)
    {
        if (rule.Id != RuleId)
        {
            return WriteResult.Invalid("id", $"the body's id '{rule.Id}' differs from '{RuleId}'");
        }
        var errors = new List<FieldError>();
        if (!ConditionParser.TryParse(rule.Condition, out _, out var conditionError))
        {
            errors.Add(new FieldError("condition", conditionError!.Message));
        }
        if (Channels.Templates.MessageRenderer.Check(rule.Templates.Subject) is { } subjectError) errors.Add(new FieldError("subjectTemplate", subjectError));
        if (Channels.Templates.MessageRenderer.Check(rule.Templates.Body) is { } bodyError) errors.Add(new FieldError("bodyTemplate", bodyError));
        await CheckChannelsAsync(rule.Channels, "channels", errors);
        await CheckChannelsAsync(rule.EscalationChannels, "escalationChannels", errors);
        if (rule.EscalationPolicy is { } policyId && await GrainFactory.GetGrain<Escalation.IEscalationPolicyGrain>(policyId).GetAsync() is null)
        {
            errors.Add(new FieldError("escalationPolicy", $"unknown escalation policy '{policyId}'"));
        }
        if (errors.Count > 0)
        {
            return WriteResult.Invalid([.. errors]);
        }

        state.State.Rule = rule;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).UpsertAsync(rule);
        logger.LogInformation("Rule {RuleId} saved: {Condition}", RuleId, rule.Condition);
        return WriteResult.Ok;
    }

    private Task CheckChannelsAsync(string[] channelIds, string field, List<FieldError> errors) =>
        ChannelLookup.AddUnknownAsync(GrainFactory, channelIds, field, errors);
}
