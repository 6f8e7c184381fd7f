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
/// interactivity. Its messages go to its delivery workers (<see cref="IChannelDeliveryGrain"/>), spread by thread, so
/// one channel is not one queue; each worker runs the notify pipeline for its share. The channel gives them its
/// config with every message and whenever it changes, and never hears back from them: outcomes go to each message's
/// sink. Reentrant; state is touched only between awaits.
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
    IOptions<NotificationOptions> options,
    IOptions<MonitoringOptions> monitoring,
    TimeProvider time,
    ILogger<NotificationChannelGrain> logger)
    : Grain, INotificationChannelGrain, IRemindable
{
    private const string OutboxReminder = "outbox";

    private NotificationChannel? _plain;
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
        if (S.Channel is null) return;
        if (await ChannelLegacyState.MoveAsync(S, logState.State, outbox, ChannelId, t => Worker(ChannelDeliveries.ShardOf(t, Workers)), logger))
        {
            await WriteStateAsync();
            await logState.WriteStateAsync();
        }
        await outbox.PruneAsync(ChannelId, time.GetUtcNow() - options.Value.DedupRetention);
        // Whatever a previous activation left in the outbox (a restart, a dead silo) carries on in the workers.
        if (await outbox.AnyPendingAsync(ChannelId))
        {
            await EnsureReminderAsync();
            await ConfigureWorkersAsync();
        }
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
        await Task.WhenAll(AllWorkers.Select(w => w.StopAsync()));
        await outbox.DeleteChannelAsync(ChannelId);
        if (_writes is not null) await _writes.Settled;
        await state.ClearStateAsync();
        state.State = new ChannelState();
        (_plain, _stages) = (null, null);
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

    /// <summary>Hands the message to the worker of its thread, which records it durably before this answers.</summary>
    public async Task<EnqueueOutcome> EnqueueAsync(Notification notification)
    {
        if (S.Channel is not { } stored || _stages is null)
        {
            return EnqueueOutcome.UnknownChannel;
        }
        await EnsureReminderAsync();
        return await Worker(ChannelDeliveries.ShardOf(notification.ThreadKey, Workers)).EnqueueAsync(stored, notification);
    }

    public Task CancelAsync(PendingPage[] pages, string reason) =>
        S.Channel is null ? Task.CompletedTask
        : Task.WhenAll(pages.GroupBy(p => ChannelDeliveries.ShardOf(p.Thread, Workers)).Select(g => Worker(g.Key).CancelAsync([.. g.Select(p => p.Key)], reason)));

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

    /// <summary>While anything is pending, the reminder brings the channel back and it wakes its workers with its config.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.Channel is not null && await outbox.AnyPendingAsync(ChannelId))
        {
            await ConfigureWorkersAsync();
            return;
        }
        Reminder.Ticked();
        await Reminder.SyncAsync(false);
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
    /// The outbox reminder, registered with the first message of each activation: it brings the channel back after its
    /// silo is lost. Registering never holds a message up (<see cref="GrainReminder"/>): the rows are stored already.
    /// </summary>
    private Task EnsureReminderAsync() => Reminder.SyncAsync(true);

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
            (_plain, _stages) = (plain, built);
            await listings.UpsertAsync(entry);
        }
        catch
        {
            // A write that fails leaves the channel as it was: stored, prepared and listed, or absent from all three.
            (S.Channel, _plain, _stages) = (previousStored, previousPlain, previousStages);
            await UndoAsync(previousStored is null);
            throw;
        }
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
