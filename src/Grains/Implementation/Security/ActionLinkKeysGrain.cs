using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Monitoring.Settings;

namespace Monitoring.Security;

[GenerateSerializer, Alias("mcp.ActionLinkKeysState")]
public sealed class ActionLinkKeysState
{
    [Id(0), JsonPropertyName("Set")] public ActionLinkKeySet Set { get; set; } = ActionLinkKeySet.Empty;
}

/// <summary>
/// Keeps the cluster's action-link signing keys, sealed by the key ring. Every process asks for them now and then
/// (<see cref="ActionLinkKeyRing"/>), and an ask is when the schedule (<see cref="ActionLinkKeys"/>) is applied: the
/// first key is made, the next one made when the newest is due, and keys no unexpired link can carry let go.
/// </summary>
[GrainType("actionlinkkeys")]
public sealed class ActionLinkKeysGrain(
    [PersistentState("actionlinkkeys", StorageNames.Rules)] IPersistentState<ActionLinkKeysState> state,
    IDataProtectionProvider protection,
    IOptions<NotificationOptions> options,
    TimeProvider time,
    ILogger<ActionLinkKeysGrain> logger)
    : Grain, IActionLinkKeysGrain
{
    private readonly IDataProtector _sealer = protection.CreateProtector(ActionLinkKeys.SealPurpose);

    public async Task<ActionLinkKeySet?> GetIfChangedAsync(long knownVersion)
    {
        var now = time.GetUtcNow();
        var keys = state.State.Set.Keys;
        var kept = ActionLinkKeys.Kept(keys, now, options.Value.ActionLinkLifetime);
        if (ActionLinkKeys.Due(kept, now))
        {
            var (id, secret) = ActionLinkKeys.New();
            kept = [.. kept, new ActionLinkKey(id, Convert.ToBase64String(_sealer.Protect(secret)), now)];
            // The first key is routine (a new cluster's first ask); a turnover is worth a line.
            logger.Log(kept.Length == 1 ? LogLevel.Debug : LogLevel.Information, "Action-link signing key {KeyId} made; it signs from {From}",
                id, kept.Length == 1 ? now : now + ActionLinkKeys.Publication);
        }
        if (!kept.SequenceEqual(keys))
        {
            var before = state.State.Set;
            state.State.Set = new ActionLinkKeySet(before.Version + 1, kept);
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // A key no store holds must sign nothing: the asker fails, and asks again.
                state.State.Set = before;
                throw;
            }
        }
        return state.State.Set.Version == knownVersion ? null : state.State.Set;
    }
}
