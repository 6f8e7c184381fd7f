using Monitoring.Settings;

namespace Monitoring.Security;

[GenerateSerializer, Alias("mcp.ActionLinkState")]
public sealed class ActionLinkState
{
    [Id(0), JsonPropertyName("Use")] public ActionLinkUse? Use { get; set; }
}

/// <summary>
/// Remembers that one action link was used, durably, so it works once in the whole cluster. Only used links have
/// state: sending a link writes nothing.
/// </summary>
[GrainType("actionlink")]
public sealed class ActionLinkGrain(
    [PersistentState("actionlink", StorageNames.Alerts)] IPersistentState<ActionLinkState> state,
    TimeProvider time)
    : Grain, IActionLinkGrain
{
    public async Task<ActionLinkUse?> UseAsync(string by)
    {
        if (state.State.Use is { } earlier) return earlier;
        state.State.Use = new ActionLinkUse(time.GetUtcNow(), by);
        await state.WriteStateAsync();
        return null;
    }

    public Task<ActionLinkUse?> GetAsync() => Task.FromResult(state.State.Use);
}
