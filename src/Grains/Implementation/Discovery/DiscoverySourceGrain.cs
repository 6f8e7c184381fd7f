using Monitoring.Common;
using Monitoring.Servers;
using Monitoring.Settings;

namespace Monitoring.Discovery;

[GenerateSerializer, Alias("mcp.DiscoverySourceState")]
public sealed class DiscoverySourceState
{
    [Id(0), JsonPropertyName("Source")] public DiscoverySource? Source { get; set; }

    /// <summary>The servers this source registered: id to what the registry calls it ("name#remote").</summary>
    [Id(1), JsonPropertyName("Known")] public Dictionary<string, string> Known { get; set; } = new(StringComparer.Ordinal);

    [Id(2), JsonPropertyName("Status")] public DiscoveryStatus Status { get; set; } = DiscoveryStatus.None;

    /// <summary>Raised with each write: the listing's version.</summary>
    [Id(4), JsonPropertyName("Version")] public long Version { get; set; }

    /// <summary>Polls since the last full listing: every <see cref="DiscoverySourceGrain.FullEvery"/>th lists everything again.</summary>
    [Id(3), JsonPropertyName("SinceFull")] public int SinceFull { get; set; }
}

/// <summary>
/// One discovery source. It polls its registry every interval (a timer, and a reminder after its silo is lost): the first
/// poll, and every <see cref="FullEvery"/>th, lists everything; the others ask for the changes since the last good poll
/// (<c>updated_since</c>). What <see cref="RegistryPlan"/> makes of the answer is registered through the bulk path
/// (shards first), updated, or deregistered (its open alerts resolve as <c>deregistered</c>). A failed poll changes no
/// server and backs off, doubling up to an hour; an outage never deregisters anything. A server registered by hand, or
/// by another source, under the same id is left alone and reported.
/// </summary>
[GrainType("discoverysource")]
public sealed class DiscoverySourceGrain(
    [PersistentState("discovery", StorageNames.Rules)] IPersistentState<DiscoverySourceState> state,
    RegistryClient registry,
    Outbound.OutboundGuard outbound,
    Listings.IListingStore listings,
    Microsoft.Extensions.Options.IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<DiscoverySourceGrain> logger)
    : Grain, IDiscoverySourceGrain, IRemindable
{
    public const int FullEvery = 12;
    public const string Deregistered = "deregistered";
    private const int Parallelism = 32;
    private GrainReminder? _reminder;
    private DueTimer? _timer;

    private DiscoverySourceState S => state.State;
    private string SourceId => this.GetPrimaryKeyString();
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, "discovery", options.Value.ReminderPeriod, logger);
    private DueTimer Timer => _timer ??= new DueTimer(this, TickAsync, time);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Source is not null) Timer.Set(S.Status.NextSyncAt ?? time.GetUtcNow());
        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        await TickAsync();
    }

    private async Task TickAsync()
    {
        if (S.Source is null || S.Status.NextSyncAt is { } next && next > time.GetUtcNow())
        {
            Timer.Set(S.Status.NextSyncAt);
            return;
        }
        await SyncAsync();
    }

    /// <summary>An address the outbound policy can never reach is refused when it is written, as channels' and servers' are.</summary>
    private WriteResult? Refusal(DiscoverySource source) =>
        outbound.LiteralRefusal(source.Url) is { } refusal ? WriteResult.Invalid("url", $"{refusal}: the outbound policy can never reach it") : null;

    public async Task<WriteResult> CreateAsync(DiscoverySource source)
    {
        if (S.Source is not null) return WriteResult.Duplicate(SourceId);
        if (Refusal(source) is { } refused) return refused;
        S.Source = source with { UpdatedAt = time.GetUtcNow() };
        S.Status = DiscoveryStatus.None with { NextSyncAt = time.GetUtcNow() };
        await WriteAsync();
        await Reminder.SyncAsync(true);
        Timer.Set(time.GetUtcNow()); // the first poll at once, behind this call
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(DiscoverySource source)
    {
        if (S.Source is null) return WriteResult.NotFound;
        if (Refusal(source) is { } refused) return refused;
        S.Source = source with { UpdatedAt = time.GetUtcNow() };
        S.SinceFull = FullEvery; // what qualifies may have changed: list everything at the next poll, now
        S.Status = S.Status with { NextSyncAt = time.GetUtcNow() };
        await WriteAsync();
        Timer.Set(time.GetUtcNow());
        return WriteResult.Ok;
    }

    public async Task<WriteResult> DeleteAsync()
    {
        if (S.Source is null) return WriteResult.NotFound;
        await DeregisterAsync(S.Known.Keys.ToArray());
        await state.ClearStateAsync();
        state.State = new DiscoverySourceState();
        await listings.RemoveAsync<Listings.DiscoveryEntry>(SourceId);
        await Reminder.SyncAsync(false);
        Timer.Set(null);
        return WriteResult.Ok;
    }

    public Task<DiscoveryView?> GetAsync() => Task.FromResult(S.Source is { } source ? new DiscoveryView(source, S.Status) : null);

    public async Task<DiscoveryView?> SyncAsync()
    {
        if (S.Source is not { } source) return null;
        var now = time.GetUtcNow();
        var full = S.Status.LastSuccessAt is null || S.SinceFull >= FullEvery;
        IReadOnlyList<RegistryEntry> entries;
        try
        {
            // A minute of overlap: a change stamped just before the last poll's answer is not missed.
            entries = await registry.ListAsync(source.Url, full ? null : S.Status.LastSuccessAt!.Value - TimeSpan.FromMinutes(1), CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException or System.Text.Json.JsonException or Outbound.OutboundBlockedException)
        {
            var failures = S.Status.Failures + 1;
            var backoff = TimeSpan.FromTicks(Math.Min(DiscoverySource.MaxBackoff.Ticks, source.Interval.Ticks * (1L << Math.Min(failures, 20))));
            S.Status = S.Status with { LastSyncAt = now, LastError = e.Message, Failures = failures, NextSyncAt = now + backoff };
            logger.LogWarning("Discovery source {SourceId}: poll {Failures} in a row failed ({Error}); nothing changes; next in {Backoff}", SourceId, failures, e.Message, backoff);
            await FinishAsync();
            return new DiscoveryView(source, S.Status);
        }
        var changes = RegistryPlan.Plan(source, entries, S.Known, full);
        var skipped = await RegisterAsync(changes.Wanted.Values.ToArray());
        await DeregisterAsync(changes.Gone);
        S.SinceFull = full ? 1 : S.SinceFull + 1;
        S.Status = new DiscoveryStatus(now, now, null, 0, now + source.Interval, [.. S.Known.Keys.Order(StringComparer.Ordinal)], skipped);
        logger.LogInformation("Discovery source {SourceId}: {Kind} poll, {Entries} entries, {Servers} servers, {Gone} gone, {Skipped} left out",
            SourceId, full ? "full" : "incremental", entries.Count, S.Known.Count, changes.Gone.Length, skipped.Length);
        await FinishAsync();
        return new DiscoveryView(source, S.Status);
    }

    private async Task WriteAsync()
    {
        S.Version++;
        await state.WriteStateAsync();
        await listings.UpsertAsync(new Listings.DiscoveryEntry(new DiscoveryView(S.Source!, S.Status), S.Version));
    }

    private async Task FinishAsync()
    {
        await WriteAsync();
        await Reminder.SyncAsync(true);
        Timer.Set(S.Status.NextSyncAt);
    }

    /// <summary>Registers new servers (into their shards first, a write a shard) and updates changed ones; answers what was left out and why.</summary>
    private async Task<string[]> RegisterAsync(McpServer[] wanted)
    {
        var skipped = new List<string>();
        var current = await Task.WhenAll(wanted.Select(s => GrainFactory.GetGrain<IMcpServerGrain>(s.Id).GetAsync()));
        var stored = wanted.Zip(current).Where(p => p.Second is not null).ToDictionary(p => p.First.Id, p => p.Second!, StringComparer.Ordinal);
        var writes = new List<McpServer>();
        for (var i = 0; i < wanted.Length; i++)
        {
            var server = wanted[i];
            if (current[i] is { } existing && existing.Origin?.Source != SourceId)
            {
                skipped.Add($"{server.Id}: {(existing.Origin is null ? "a server registered by hand" : $"a server of source {existing.Origin.Source}")} has this id");
                continue;
            }
            if (current[i] is { } same && Same(same, server)) continue;
            writes.Add(server);
        }
        if (writes.Count > 0)
        {
            var refused = await GrainFactory.GetGrain<IServerAddressCheckGrain>(0).CheckAsync([.. writes]);
            var blocked = refused.Select(e => int.Parse(e.Field["servers[".Length..e.Field.IndexOf(']')])).ToHashSet();
            skipped.AddRange(refused.Select(e => $"{writes[int.Parse(e.Field["servers[".Length..e.Field.IndexOf(']')])].Id}: {e.Message}"));
            writes = [.. writes.Where((_, i) => !blocked.Contains(i))];
            var fresh = writes.Where(w => !S.Known.ContainsKey(w.Id) && !stored.ContainsKey(w.Id)).Select(w => w.Id).ToArray();
            await Task.WhenAll(fresh.GroupBy(ServerShards.Of).Select(shard => GrainFactory.GetGrain<IServerShardGrain>(shard.Key).AddManyAsync([.. shard])));
            using var gate = new SemaphoreSlim(Parallelism);
            var results = await Task.WhenAll(writes.Select(async server =>
            {
                await gate.WaitAsync();
                try
                {
                    var grain = GrainFactory.GetGrain<IMcpServerGrain>(server.Id);
                    var registered = await grain.RegisterAsync(server);
                    return (server, registered.Outcome == WriteOutcome.Duplicate ? await grain.UpdateAsync(server, keepProbeHeaders: true) : registered);
                }
                finally
                {
                    gate.Release();
                }
            }));
            foreach (var (server, result) in results)
            {
                if (result.Succeeded) S.Known[server.Id] = server.Origin!.Ref;
                else skipped.Add($"{server.Id}: {string.Join("; ", result.Errors.Select(e => $"{e.Field}: {e.Message}"))}");
            }
        }
        foreach (var server in wanted) if (stored.GetValueOrDefault(server.Id) is { Origin.Source: var source } && source == SourceId) S.Known[server.Id] = server.Origin!.Ref;
        return [.. skipped.Order(StringComparer.Ordinal)];
    }

    private static bool Same(McpServer a, McpServer b) =>
        a.Name == b.Name && a.Endpoint == b.Endpoint && a.Origin == b.Origin && a.Probe.Transport == b.Probe.Transport
        && a.Labels.Count == b.Labels.Count && a.Labels.All(l => b.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    private async Task DeregisterAsync(string[] ids)
    {
        using var gate = new SemaphoreSlim(Parallelism);
        await Task.WhenAll(ids.Select(async id =>
        {
            await gate.WaitAsync();
            try
            {
                var grain = GrainFactory.GetGrain<IMcpServerGrain>(id);
                // Only what this source registered: a server taken over by hand since is left alone.
                if (await grain.GetAsync() is { Origin.Source: var source } && source == SourceId) await grain.DeregisterAsync(Deregistered);
            }
            finally
            {
                gate.Release();
            }
        }));
        foreach (var id in ids) S.Known.Remove(id);
    }
}
