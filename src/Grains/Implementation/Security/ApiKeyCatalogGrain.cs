using Monitoring.Common;
using Monitoring.Settings;

namespace Monitoring.Security;

[GenerateSerializer, Alias("mcp.ApiKeyCatalogState")]
public sealed class ApiKeyCatalogState
{
    [Id(0), JsonPropertyName("Set")] public ApiKeySet Set { get; set; } = ApiKeySet.Empty;
}

/// <summary>The API keys made through the API, hashed. Configuration keys never pass through here.</summary>
[GrainType("apikeycatalog")]
public sealed class ApiKeyCatalogGrain(
    [PersistentState("apikeys", StorageNames.Rules)] IPersistentState<ApiKeyCatalogState> state,
    ILogger<ApiKeyCatalogGrain> logger)
    : Grain, IApiKeyCatalogGrain
{
    public const int MaxKeys = 1000;

    public async Task<WriteResult> CreateAsync(StoredApiKey key)
    {
        var keys = state.State.Set.Keys;
        if (keys.Any(k => k.Name == key.Name)) return WriteResult.Invalid("name", $"a key named '{key.Name}' exists; revoke it first");
        if (keys.Length >= MaxKeys) return WriteResult.Conflict($"there are already {MaxKeys} keys");
        await PublishAsync([.. keys, key]);
        logger.LogInformation("API key {KeyId} ({Name}, {Role}) created by {CreatedBy}", key.Id, key.Name, key.Role, key.CreatedBy);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> RevokeAsync(string id)
    {
        var keys = state.State.Set.Keys;
        if (keys.All(k => k.Id != id)) return WriteResult.NotFound;
        await PublishAsync([.. keys.Where(k => k.Id != id)]);
        logger.LogInformation("API key {KeyId} revoked", id);
        return WriteResult.Ok;
    }

    public Task<ApiKeySet?> GetIfChangedAsync(long knownVersion) =>
        Task.FromResult(state.State.Set.Version == knownVersion ? null : state.State.Set);

    private async Task PublishAsync(StoredApiKey[] keys)
    {
        state.State.Set = new ApiKeySet(state.State.Set.Version + 1, keys);
        await state.WriteStateAsync();
    }
}
