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
/// One discovery source, a thin shell: it persists, wakes and hands off.
/// <list type="bullet">
/// <item>A registry source polls every interval (a timer, and a reminder after its silo is lost): the first poll, and
/// every <see cref="FullEvery"/>th, lists everything; the others ask for the changes since the last good poll
/// (<c>updated_since</c>). A failed poll changes no server and backs off, doubling up to an hour; an outage never
/// deregisters anything.</item>
/// <item>A Kubernetes source runs its <see cref="KubernetesWatches"/> while it is active, and takes their batches
/// (<see cref="ApplyWatchAsync"/>); its timer checks every interval (at most 5 minutes, which also keeps it active)
/// that they still run.</item>
/// </list>
/// <see cref="RegistryPlan"/> and <see cref="KubernetesPlan"/> decide what changes; <see cref="DiscoveredServers"/> writes it.
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
    public const string Deregistered = DiscoveredServers.Deregistered;
    private static readonly TimeSpan MaxWatchCheck = TimeSpan.FromMinutes(5);
    private GrainReminder? _reminder;
    private DueTimer? _timer;
    private KubernetesWatches? _watches;

    private DiscoverySourceState S => state.State;
    private string SourceId => this.GetPrimaryKeyString();
    private bool Watched => S.Source?.Kind == DiscoverySource.KubernetesKind;
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, "discovery", options.Value.ReminderPeriod, logger);
    private DueTimer Timer => _timer ??= new DueTimer(this, TickAsync, time);
    private KubernetesWatches Watches => _watches ??= new KubernetesWatches(time);
    private DiscoveredServers Servers => new(GrainFactory, SourceId, S.Known);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Source is null) return;
        if (Watched) await WatchAsync();
        else Timer.Set(S.Status.NextSyncAt ?? time.GetUtcNow());
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _watches?.Stop();
        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        await TickAsync();
    }

    private async Task TickAsync()
    {
        if (S.Source is null) return;
        if (Watched)
        {
            if (!Watches.Running) await WatchAsync();
            else Timer.Set(time.GetUtcNow() + WatchCheck);
            return;
        }
        if (S.Status.NextSyncAt is { } next && next > time.GetUtcNow())
        {
            Timer.Set(next);
            return;
        }
        await SyncAsync();
    }

    private TimeSpan WatchCheck => S.Source!.Interval < MaxWatchCheck ? S.Source.Interval : MaxWatchCheck;

    /// <summary>An address the outbound policy can never reach is refused when it is written, as channels' and servers' are.</summary>
    private WriteResult? Refusal(DiscoverySource source) =>
        source.Url.Length > 0 && outbound.LiteralRefusal(source.Url) is { } refusal ? WriteResult.Invalid("url", $"{refusal}: the outbound policy can never reach it") : null;

    public async Task<WriteResult> CreateAsync(DiscoverySource source)
    {
        if (S.Source is not null) return WriteResult.Duplicate(SourceId);
        if (Refusal(source) is { } refused) return refused;
        S.Source = source with { UpdatedAt = time.GetUtcNow() };
        S.Status = DiscoveryStatus.None with { NextSyncAt = time.GetUtcNow() };
        await WriteAsync();
        await Reminder.SyncAsync(true);
        await StartAsync();
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(DiscoverySource source)
    {
        if (S.Source is null) return WriteResult.NotFound;
        if (Refusal(source) is { } refused) return refused;
        if (source.Kind != S.Source.Kind) await Servers.DeregisterAsync([.. S.Known.Keys]); // another kind of source finds other servers
        S.Source = source with { UpdatedAt = time.GetUtcNow() };
        S.SinceFull = FullEvery; // what qualifies may have changed: list everything at the next poll, now
        S.Status = S.Status with { NextSyncAt = time.GetUtcNow() };
        await WriteAsync();
        await StartAsync();
        return WriteResult.Ok;
    }

    /// <summary>A registry is polled behind this call; a Kubernetes source's watches start again, listing everything.</summary>
    private async Task StartAsync()
    {
        if (Watched) await WatchAsync();
        else
        {
            _watches?.Stop();
            Timer.Set(time.GetUtcNow());
        }
    }

    public async Task<WriteResult> DeleteAsync()
    {
        if (S.Source is null) return WriteResult.NotFound;
        _watches?.Stop();
        await Servers.DeregisterAsync([.. S.Known.Keys]);
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
        if (Watched)
        {
            await WatchAsync();
            return new DiscoveryView(source, S.Status);
        }
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
        var skipped = await ApplyAsync(changes);
        S.SinceFull = full ? 1 : S.SinceFull + 1;
        S.Status = new DiscoveryStatus(now, now, null, 0, now + source.Interval, [.. S.Known.Keys.Order(StringComparer.Ordinal)], skipped);
        logger.LogInformation("Discovery source {SourceId}: {Kind} poll, {Entries} entries, {Servers} servers, {Gone} gone, {Skipped} left out",
            SourceId, full ? "full" : "incremental", entries.Count, S.Known.Count, changes.Gone.Length, skipped.Length);
        await FinishAsync();
        return new DiscoveryView(source, S.Status);
    }

    /// <summary>Starts the watches (again); a source that cannot reach an API server says why and is checked again later.</summary>
    private async Task WatchAsync()
    {
        var self = this.AsReference<IDiscoverySourceGrain>();
        try
        {
            Watches.Start(S.Source!, self.ApplyWatchAsync);
        }
        catch (Exception e) when (e is InvalidOperationException or k8s.Exceptions.KubeConfigException or UriFormatException or IOException)
        {
            await ApplyWatchAsync(new WatchBatch("", false, [], e.Message, Watches.Generation));
        }
        Timer.Set(time.GetUtcNow() + WatchCheck);
    }

    public async Task ApplyWatchAsync(WatchBatch batch)
    {
        if (S.Source is not { } source || !Watched || batch.Generation != Watches.Generation) return; // from watches since replaced
        var now = time.GetUtcNow();
        if (batch.Error is { } error)
        {
            S.Status = S.Status with { LastSyncAt = now, LastError = error, Failures = S.Status.Failures + 1, NextSyncAt = now + WatchCheck };
            logger.LogWarning("Discovery source {SourceId}: watch of '{Scope}' failed ({Error}); nothing changes; it retries", SourceId, batch.Scope, error);
            await WriteAsync();
            return;
        }
        var changes = KubernetesPlan.Plan(batch, S.Known);
        var skipped = await ApplyAsync(changes);
        S.Status = new DiscoveryStatus(now, batch.Snapshot ? now : S.Status.LastSuccessAt ?? now, null, 0, now + WatchCheck,
            [.. S.Known.Keys.Order(StringComparer.Ordinal)], batch.Snapshot ? skipped : [.. S.Status.Skipped.Union(skipped).Order(StringComparer.Ordinal).Take(1000)]);
        logger.LogInformation("Discovery source {SourceId}: {Kind} of '{Scope}', {Objects} objects, {Servers} servers, {Gone} gone, {Skipped} left out",
            SourceId, batch.Snapshot ? "listing" : "events", batch.Scope, batch.Objects.Length, S.Known.Count, changes.Gone.Length, skipped.Length);
        await WriteAsync();
    }

    private async Task<string[]> ApplyAsync(DiscoveryChanges changes)
    {
        var servers = Servers;
        var skipped = await servers.RegisterAsync([.. changes.Wanted.Values]);
        await servers.DeregisterAsync(changes.Gone);
        return skipped;
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
}
