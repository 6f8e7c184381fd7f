using System.Diagnostics;
using Microsoft.Extensions.Options;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Rules;
using Monitoring.Settings;

namespace Monitoring.Channels;

/// <summary>
/// One notification channel: its configuration and secrets (sealed in storage), validation, test messages and Slack's
/// interactivity. Its messages never pass through it: senders hand them to its delivery workers
/// (<see cref="IChannelDeliveryGrain"/>), spread by thread so one channel is not one queue, with the route each silo
/// copies from here (<see cref="ChannelRoutes"/>). The channel gives its workers its config whenever it changes, wakes
/// them after a lost silo (its reminder, kept while it exists) and stops them when deleted; it never hears back from
/// them: outcomes go to each message's sink. Reentrant; state is touched only between awaits.
/// </summary>
[Reentrant]
[GrainType("notificationchannel")]
public sealed class NotificationChannelGrain(
    [PersistentState("channel", StorageNames.Channels)] IPersistentState<ChannelState> state,
    [PersistentState("deliveries", StorageNames.Channels)] IPersistentState<ChannelLogState> logState,
    ChannelSenders senders,
    ChannelStages stages,
    Security.SecretSealer sealer,
    IOutboxStore outbox,
    IListingStore listings,
    ChannelRoutes routes,
    IOptions<NotificationOptions> options,
    IOptions<MonitoringOptions> monitoring,
    TimeProvider time,
    ILogger<NotificationChannelGrain> logger)
    : Grain, INotificationChannelGrain, IRemindable
{
    private const string OutboxReminder = "outbox";

    private NotificationChannel? _plain;
    private long _version;
    private PreparedStages? _stages;
    private GrainReminder? _reminder;
    private SerialWrites? _writes;

    private readonly Slack.SlackRequests _slackRequests = new();

    private string ChannelId => this.GetPrimaryKeyString();
    private ChannelState S => state.State;

    /// <summary>How many delivery workers this channel's config gives it.</summary>
    private int Workers => ChannelDeliveries.WorkersFor(_stages?.Settings.RateLimit is not null, options.Value.DeliveryWorkers);

    /// <summary>
    /// The worker of a shard, its reference kept (<see cref="GrainReferences"/>): a <c>GetGrain</c> per message was about
    /// 7% of what an Alertmanager storm allocated, its proxy's argument copiers made by reflection each time.
    /// </summary>
    private IChannelDeliveryGrain Worker(int shard) => GrainReferences.Of(GrainFactory).Get<IChannelDeliveryGrain>(ChannelDeliveries.KeyOf(ChannelId, shard));

    private IEnumerable<IChannelDeliveryGrain> AllWorkers => Enumerable.Range(0, Workers).Select(Worker);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _plain = S.Channel is { } stored ? stored with { Config = sealer.Unseal(stored.Config) } : null;
        _stages = _plain is { } plain ? stages.Build(plain) : null;
        _version = ChannelRoute.VersionOf(S.Channel);
        if (S.Channel is null) return;
        if (await ChannelLegacyState.MoveAsync(S, logState.State, outbox, ChannelId, t => Worker(ChannelDeliveries.ShardOf(t, Workers)), logger))
        {
            await WriteStateAsync();
            await logState.WriteStateAsync();
        }
        await outbox.PruneAsync(ChannelId, time.GetUtcNow() - options.Value.DedupRetention);
        await Reminder.SyncAsync(true);
        // Whatever a previous activation left in the outbox (a restart, a dead silo) carries on in the workers.
        if (await outbox.AnyPendingAsync(ChannelId)) await ConfigureWorkersAsync();
    }

    public Task<WriteResult> CreateAsync(NotificationChannel channel) =>
        S.Channel is not null ? Task.FromResult(WriteResult.Duplicate(ChannelId)) : SaveAsync(channel);

    public Task<WriteResult> UpdateAsync(NotificationChannel channel) =>
        _plain is not { } existing ? Task.FromResult(WriteResult.NotFound) : SaveAsync(senders.KeepSecrets(channel, existing));

    public async Task<WriteResult> DeleteAsync()
    {
        if (S.Channel is null)
        {
            return WriteResult.NotFound;
        }
        if (await ChannelUsers.RefusalToDeleteAsync(GrainFactory, listings, ChannelId) is { } refusal)
        {
            return refusal;
        }
        // Nothing is dropped silently: what was still pending is reported failed to its sink.
        var deleted = S.Channel;
        await Task.WhenAll(AllWorkers.Select(w => w.StopAsync(deleted)));
        await outbox.DeleteChannelAsync(ChannelId);
        if (_writes is not null) await _writes.Settled;
        await state.ClearStateAsync();
        state.State = new ChannelState();
        (_plain, _stages, _version) = (null, null, 0);
        routes.Invalidate(ChannelId);
        await Reminder.SyncAsync(false);
        await logState.ClearStateAsync();
        logState.State = new ChannelLogState();
        await listings.RemoveAsync<ChannelEntry>(ChannelId);
        logger.LogInformation("Channel {ChannelId} deleted", ChannelId);
        return WriteResult.Ok;
    }

    public async Task<ChannelView?> GetAsync() => _plain is { } channel ? View(channel, await BacklogAsync(1)) : null;

    public Task<bool> ExistsAsync() => Task.FromResult(S.Channel is not null);

    public Task<ChannelComparison> CompareAsync(NotificationChannel desired) =>
        Task.FromResult(new ChannelComparison(senders.Redact(desired), _plain is { } stored && senders.SecretsDiffer(desired, stored)));

    public Task<ChannelRoute?> GetRouteIfChangedAsync(long knownVersion) =>
        Task.FromResult(knownVersion == _version ? null : new ChannelRoute(_version, S.Channel, S.Channel is null ? 0 : Workers));

    public async Task<DeliveryRecord[]> GetDeliveriesAsync(int limit)
    {
        limit = Math.Clamp(limit, 1, options.Value.DeliveryLogSize);
        var backlog = await BacklogAsync(limit);
        var records = backlog.SelectMany(b => b.Newest).OrderByDescending(r => r.RecordedAt).Take(limit).ToList();
        if (records.Count < limit) records.AddRange(await outbox.FinishedAsync(ChannelId, limit - records.Count));
        return [.. records];
    }

    public async Task<TestDelivery> SendTestAsync()
    {
        if (S.Channel is null || _stages is null)
        {
            return new TestDelivery(false, "the channel does not exist", TimeSpan.Zero, "");
        }
        var now = time.GetUtcNow();
        var notification = ChannelUsers.TestMessage(ChannelId, now);
        var started = Stopwatch.GetTimestamp();
        var result = await _stages.Attempts.AttemptAsync(notification, attempt: 1, threadRef: null);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await outbox.FinishAsync(ChannelId, new DeliveryRecord(notification.IdempotencyKey, notification.AlertId, ChannelId, NotificationKind.Test,
            result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, 1, now, time.GetUtcNow(), result.Error));
        return new TestDelivery(result.Delivered, result.Error, elapsed, notification.IdempotencyKey);
    }

    /// <summary>The reminder brings the channel back after its silo is lost; it wakes its workers with its config when anything is pending.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        if (S.Channel is null)
        {
            await Reminder.SyncAsync(false);
            return;
        }
        if (await outbox.AnyPendingAsync(ChannelId)) await ConfigureWorkersAsync();
    }

    /// <summary>The signature, then the replay guard (<see cref="Slack.SlackRequests"/>).</summary>
    public Task<SlackRequestCheck> CheckSlackRequestAsync(string timestamp, string signature, byte[] body) =>
        _slackRequests.CheckAsync(GrainFactory, ChannelId, _plain, timestamp, signature, body, time.GetUtcNow());

    public Task<string?> UpdateSlackMessageAsync(string slackChannel, string ts, string text) =>
        Slack.SlackRequests.UpdateMessageAsync(senders, _plain, slackChannel, ts, text);

    private async Task<WorkerBacklog[]> BacklogAsync(int limit) => await Task.WhenAll(AllWorkers.Select(w => w.GetBacklogAsync(limit)));

    private Task ConfigureWorkersAsync() =>
        S.Channel is { } stored ? Task.WhenAll(AllWorkers.Select(w => w.ConfigureAsync(stored))) : Task.CompletedTask;

    /// <summary>State writes one after another: interleaved turns never race two writes of the same grain.</summary>
    private Task WriteStateAsync() => (_writes ??= new SerialWrites(() => state.WriteStateAsync(), logger, $"channel {ChannelId}")).WriteAsync();

    /// <summary>
    /// The outbox reminder, kept while the channel exists (messages reach its workers without it, so it cannot wait
    /// for the first one): it brings the channel back after its silo is lost, to wake the workers of what is pending.
    /// </summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, OutboxReminder, monitoring.Value.ReminderPeriod, logger);

    private async Task<WriteResult> SaveAsync(NotificationChannel channel)
    {
        if (channel.Id != ChannelId)
        {
            return WriteResult.Invalid("id", $"the body's id '{channel.Id}' differs from '{ChannelId}'");
        }
        var errors = senders.Validate(channel);
        if (errors.Length > 0)
        {
            return WriteResult.Invalid(errors);
        }
        // Everything that could fail on this config happens before anything is stored.
        var now = time.GetUtcNow();
        var plain = channel with { CreatedAt = S.Channel?.CreatedAt ?? now, UpdatedAt = now };
        var built = stages.Build(plain);
        var entry = new ChannelEntry(View(plain, []));
        var (previousStored, previousPlain, previousStages) = (S.Channel, _plain, _stages);
        S.Channel = plain with { Config = sealer.Seal(plain.Config) };
        try
        {
            await WriteStateAsync();
            (_plain, _stages, _version) = (plain, built, ChannelRoute.VersionOf(S.Channel));
            routes.Invalidate(ChannelId);
            await listings.UpsertAsync(entry);
        }
        catch
        {
            // A write that fails leaves the channel as it was: stored, prepared and listed, or absent from all three.
            (S.Channel, _plain, _stages, _version) = (previousStored, previousPlain, previousStages, ChannelRoute.VersionOf(previousStored));
            routes.Invalidate(ChannelId);
            await UndoAsync(previousStored is null);
            throw;
        }
        await Reminder.SyncAsync(true);
        logger.LogInformation("Channel {ChannelId} of type {ChannelType} saved", ChannelId, channel.Type);
        if (previousStored is not null) await ConfigureWorkersAsync(); // they carry on with the new config at once
        return WriteResult.Ok;
    }

    private async Task UndoAsync(bool wasAbsent)
    {
        try
        {
            if (wasAbsent) await state.ClearStateAsync();
            else await WriteStateAsync();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: a failed save could not be undone in storage; the grain is dropped so it reloads what is stored", ChannelId);
            DeactivateOnIdle();
        }
    }

    private ChannelView View(NotificationChannel channel, WorkerBacklog[] backlog) =>
        new(channel.Id, channel.Type, channel.Enabled, senders.Redact(channel), channel.CreatedAt, channel.UpdatedAt)
        {
            Pending = backlog.Sum(b => b.Pending),
            Held = backlog.Sum(b => b.Held),
            HeldTotal = S.HeldTotal + backlog.Sum(b => b.HeldTotal),
        };

}
