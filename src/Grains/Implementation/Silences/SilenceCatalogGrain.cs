using Monitoring.Common;
using Monitoring.Settings;

namespace Monitoring.Silences;

[GenerateSerializer, Alias("mcp.SilenceCatalogState")]
public sealed class SilenceCatalogState
{
    [Id(0), JsonPropertyName("Set")] public SilenceSet Set { get; set; } = SilenceSet.Empty;
}

/// <summary>
/// Every silence, at a version. Writes are rare; reads go through each silo's <see cref="SilenceCache"/>, which asks
/// only whether the version moved, so this grain answers a cheap interleaved call and never serves the matching.
/// Expired silences stay listed for <see cref="Retention"/>, as in Alertmanager.
/// </summary>
[GrainType("silencecatalog")]
public sealed class SilenceCatalogGrain(
    [PersistentState("silences", StorageNames.Rules)] IPersistentState<SilenceCatalogState> state,
    SilenceCache cache,
    SilenceReplicas replicas,
    TimeProvider time,
    ILogger<SilenceCatalogGrain> logger)
    : Grain, ISilenceCatalogGrain
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(5);
    public const int MaxSilences = 10_000;

    public async Task<WriteResult> CreateAsync(Silence silence)
    {
        var now = time.GetUtcNow();
        var current = Live(now);
        if (current.Any(s => s.Id == silence.Id))
        {
            return WriteResult.Duplicate(silence.Id);
        }
        if (current.Count >= MaxSilences)
        {
            return WriteResult.Conflict($"there are already {MaxSilences} silences; expire some first");
        }
        await PublishAsync([.. current, silence with { UpdatedAt = now }]);
        logger.LogInformation("Silence {SilenceId} created by {CreatedBy}: {Matchers} until {EndsAt}",
            silence.Id, silence.CreatedBy, string.Join(", ", silence.Matchers.Select(m => m.ToString())), silence.EndsAt);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(Silence silence)
    {
        var now = time.GetUtcNow();
        var current = Live(now);
        var existing = current.FirstOrDefault(s => s.Id == silence.Id);
        if (existing is null)
        {
            return WriteResult.NotFound;
        }
        if (existing.StateAt(now) == SilenceState.Expired)
        {
            return WriteResult.Conflict($"silence '{silence.Id}' has expired; create a new one");
        }
        await PublishAsync([.. current.Select(s => s.Id == silence.Id ? silence with { UpdatedAt = now } : s)]);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> ExpireAsync(string id)
    {
        var now = time.GetUtcNow();
        var current = Live(now);
        var existing = current.FirstOrDefault(s => s.Id == id);
        if (existing is null)
        {
            return WriteResult.NotFound;
        }
        if (existing.StateAt(now) == SilenceState.Expired)
        {
            return WriteResult.Conflict($"silence '{id}' has already expired");
        }
        // A silence that has not started yet ends before it starts.
        var expired = existing with { StartsAt = existing.StartsAt > now ? now : existing.StartsAt, EndsAt = now, UpdatedAt = now };
        await PublishAsync([.. current.Select(s => s.Id == id ? expired : s)]);
        logger.LogInformation("Silence {SilenceId} expired", id);
        return WriteResult.Ok;
    }

    public Task<SilenceSet?> GetIfChangedAsync(long knownVersion) =>
        Task.FromResult(state.State.Set.Version == knownVersion ? null : state.State.Set);

    /// <summary>The silences still worth keeping: not expired longer ago than the retention.</summary>
    private List<Silence> Live(DateTimeOffset now) => [.. state.State.Set.Silences.Where(s => now - s.EndsAt < Retention)];

    private async Task PublishAsync(List<Silence> silences)
    {
        state.State.Set = new SilenceSet(state.State.Set.Version + 1, [.. silences.OrderBy(s => s.StartsAt).ThenBy(s => s.Id, StringComparer.Ordinal)]);
        await state.WriteStateAsync();
        cache.Accept(state.State.Set);
        await replicas.PublishAsync(state.State.Set);
    }
}
