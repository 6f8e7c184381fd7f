using Monitoring.Settings;

namespace Monitoring.Listings;

[GenerateSerializer, Alias("mcp.ListingShardState")]
public sealed class ListingShardState
{
    [Id(0)] public Dictionary<string, IListingEntry> Entries { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One shard of an embedded-mode listing. Entries are projections of their grains, so the shard writes its state
/// behind (at most once a second) rather than once per update: a storm of alert transitions stays cheap.
/// </summary>
[GrainType("listing-shard")]
public sealed class ListingShardGrain(
    [PersistentState("listing", StorageNames.Listings)] IPersistentState<ListingShardState> state,
    SiloStopping stopping)
    : Grain, IListingShardGrain
{
    private static readonly TimeSpan WriteBehind = TimeSpan.FromSeconds(1);
    private bool _dirty;
    private IGrainTimer? _flush;

    public Task UpsertAsync(IListingEntry entry)
    {
        var entries = state.State.Entries;
        var known = entries.TryGetValue(entry.Id, out var existing);
        if (!known || existing!.Version <= entry.Version)
        {
            // Written behind, new entries too: the shard and its storage both live in this process's memory, so what
            // a write-through would guard against (losing the process) loses the storage as well, and writing the
            // whole shard for each new server made registering a fleet quadratic (12.5% of a 10,000-server
            // registration's samples). A deactivation writes what is pending.
            entries[entry.Id] = entry;
            MarkDirty();
        }
        return Task.CompletedTask;
    }

    public async Task RemoveAsync(string id)
    {
        if (state.State.Entries.Remove(id))
        {
            await FlushAsync(CancellationToken.None);
        }
    }

    public Task<IListingEntry[]> QueryAsync(ListingQuery query) =>
        Task.FromResult(state.State.Entries.Values.Where(query.Selects).ToArray());

    public Task<Dictionary<string, int>> CountByAsync(string[] fields)
    {
        var counts = state.State.Entries.Values
            .GroupBy(e => string.Join('|', fields.Select(f => e.Field(f) ?? "")))
            .ToDictionary(g => g.Key, g => g.Count());
        return Task.FromResult(counts);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Listing shards live in memory: at shutdown there is nowhere to keep them.
        if (_dirty && reason.ReasonCode != DeactivationReasonCode.ShuttingDown)
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    private void MarkDirty()
    {
        if (_dirty)
        {
            return;
        }
        _dirty = true;
        _flush ??= this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        _flush.Change(WriteBehind, Timeout.InfiniteTimeSpan);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Once the silo is stopping, its memory (where the storage lives) is about to go too, and the storage grain
        // may already be gone: a write then would only fail.
        if (stopping.IsStopping)
        {
            return;
        }
        _dirty = false;
        await state.WriteStateAsync(cancellationToken);
    }
}
