using Microsoft.Extensions.Options;
using Monitoring.Channels.Templates;
using Monitoring.Observability;
using Monitoring.Settings;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// A channel's delivery worker (key "channel/shard"): the notify pipeline for its share of the channel's threads.
/// Dedup and durable record (the outbox store refuses a key it holds), rate limit (<see cref="RateGate"/>: held in
/// order, never dropped), render and send with retry (<see cref="DeliveryAttempts"/>), and the record of the outcome
/// (the store's row, and a report to the message's sink). One message of a thread at a time, in order, so a
/// resolution never overtakes its firing message and a reply finds its thread. Reentrant: state is touched only
/// between awaits. Placed where it is first called (a sender's silo), so a message needs no hop to another silo.
/// </summary>
[Reentrant]
[Orleans.Placement.PreferLocalPlacement]
[GrainType("channeldelivery")]
public sealed class ChannelDeliveryGrain(
    [PersistentState("delivery", StorageNames.Channels)] IPersistentState<ChannelDeliveryState> state,
    ChannelStages stages,
    Security.SecretSealer sealer,
    IOutboxStore outbox,
    IOptions<NotificationOptions> options,
    StateDurability durability,
    TimeProvider time,
    IGrainFactory grains,
    ILogger<ChannelDeliveryGrain> logger)
    : Grain, IChannelDeliveryGrain
{
    /// <summary>How often a row another activation holds is looked at again while its lease lasts.</summary>
    private static readonly TimeSpan ClaimRecheck = TimeSpan.FromSeconds(5);
    private readonly OutboxQueue _queue = new();
    private readonly DeliveryPump _pump = new();
    private NotificationChannel? _stored;
    private PreparedStages? _stages;
    private Task? _loading;
    private DueTimer? _pumpTimer;
    private SerialWrites? _writes;
    private WriteBehind? _behind;
    private RecordStage? _record;
    private ClaimStage? _claims;

    private string Key => this.GetPrimaryKeyString();
    private string ChannelId => Key[..Key.LastIndexOf('/')];
    private int Shard => int.Parse(Key[(Key.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    private string ChannelType => _stored?.Type ?? "unknown";

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_behind is { Pending: true } && !(durability.Volatile && reason.ReasonCode == DeactivationReasonCode.ShuttingDown)) await _behind.WriteAsync(cancellationToken);
    }

    public async Task<EnqueueOutcome> EnqueueAsync(NotificationChannel stored, Notification notification)
    {
        // A sender's copy of the channel may be a moment behind: a deleted channel's config is refused, an older one
        // than this worker holds is not taken.
        if (state.State.Retires(stored)) return EnqueueOutcome.UnknownChannel;
        await TakeAsync(stored, fromChannel: false);
        if (_stages is null) return EnqueueOutcome.UnknownChannel;
        var now = time.GetUtcNow();
        var entry = new OutboxEntry { Notification = notification, RecordedAt = now, UpdatedAt = now };
        Claims.Stamp(entry, now); // this activation holds what it records
        // Dedup and durable record in one write: a key the store holds, pending or finished, is not recorded twice.
        if (!await outbox.TryRecordAsync(ChannelId, entry)) return EnqueueOutcome.Duplicate;
        _queue.Add(entry);
        Pump();
        return EnqueueOutcome.Recorded;
    }

    public async Task ConfigureAsync(NotificationChannel stored)
    {
        await TakeAsync(stored, fromChannel: true);
        Pump();
    }

    public async Task StopAsync(NotificationChannel deleted)
    {
        foreach (var entry in _queue.ToList()) await FinishAsync(entry, DeliveryState.Failed, "the channel was deleted");
        (_stored, _stages) = (null, null);
        if (_behind is { Pending: true }) await _behind.WriteAsync();
        if (_writes is not null) await _writes.Settled;
        // What is left is the fence: a message a sender sends with this config (or an older one) is refused.
        state.State = new ChannelDeliveryState { RetiredAt = deleted.UpdatedAt, RetiredVersion = ChannelRoute.VersionOf(deleted) };
        await state.WriteStateAsync();
        DeactivateOnIdle();
    }

    public async Task CancelAsync(string[] keys, string reason)
    {
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        foreach (var entry in _queue.Where(e => wanted.Contains(e.Key) && !_pump.IsSending(e)).ToList())
        {
            await FinishAsync(entry, DeliveryState.Cancelled, reason);
        }
        Pump();
    }

    public Task<WorkerBacklog> GetBacklogAsync(int limit) => Task.FromResult(new WorkerBacklog(
        [.. _queue.OrderByDescending(e => e.RecordedAt).Take(limit).Select(e => e.Record(ChannelId))], _queue.Count, _queue.Held, state.State.HeldTotal));

    public Task AdoptThreadsAsync(Dictionary<string, ThreadRef> threads)
    {
        foreach (var (key, reference) in threads) state.State.Threads.TryAdd(key, reference);
        MarkDirty();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes a config newer than the one held (from its channel, also a different one saved at the same instant); the
    /// first one also loads this worker's share of the outbox.
    /// </summary>
    private async Task TakeAsync(NotificationChannel stored, bool fromChannel)
    {
        if (_stored is null || stored.UpdatedAt > _stored.UpdatedAt
            || fromChannel && stored.UpdatedAt == _stored.UpdatedAt && (stored.Config != _stored.Config || stored.Enabled != _stored.Enabled))
        {
            var plain = stored with { Config = sealer.Unseal(stored.Config) };
            _stages = stages.Build(plain);
            _stored = stored;
        }
        var loading = _loading ??= LoadAsync();
        try
        {
            await loading;
        }
        catch
        {
            // Storage refused the read (an outage, overload): the next call reads again, instead of failing for good.
            if (_loading == loading) _loading = null;
            throw;
        }
    }

    /// <summary>What an earlier activation (a restart, a dead silo) left pending for this worker's threads carries on here.</summary>
    private async Task LoadAsync()
    {
        var rows = await outbox.PendingAsync(ChannelId);
        var queued = _queue.Select(e => e.Key).ToHashSet(StringComparer.Ordinal); // never queue a row twice
        foreach (var pending in rows)
        {
            if (ChannelDeliveries.ShardOf(pending.Thread, Workers) == Shard && !queued.Contains(pending.Key)) _queue.Add(pending);
        }
    }

    /// <summary>Starts every entry the pump lets go; marks the ones a rate limit holds.</summary>
    private void Pump()
    {
        if (_stored is not { } channel || _stages is not { } stages || _queue.Count == 0) return;
        // Retries may run up to the maximum age; the activation must outlive them.
        DelayDeactivation(stages.Settings.Retry.MaxAge + TimeSpan.FromMinutes(5));
        var now = time.GetUtcNow();
        var maxInFlight = Math.Max(1, (options.Value.MaxInFlightPerChannel + Workers - 1) / Workers);
        var decision = _pump.Walk(_queue, maxInFlight, channel.Enabled, stages.Gate, now);
        foreach (var entry in decision.Disabled) _ = FinishAsync(entry, DeliveryState.Disabled, "the channel is disabled");
        if (decision.Disabled.Count > 0)
        {
            Pump(); // the next message of each thread is disabled too
            return;
        }
        foreach (var entry in decision.NewlyHeld)
        {
            entry.UpdatedAt = now;
            state.State.HeldTotal++;
            MarkDirty();
            MonitoringMetrics.NotificationsHeld.WithLabels(ChannelType, decision.LimitedBy!).Inc();
            _ = UpdateAsync(entry);
        }
        if (decision.Wait is { } wait) ArmPump(wait);
        foreach (var entry in decision.Start) _ = RunAsync(entry, stages);
    }

    private int Workers => ChannelDeliveries.WorkersFor(_stages?.Settings.RateLimit is not null, options.Value.DeliveryWorkers);

    /// <summary>Runs one entry; whatever happens frees its slot, so a send that threw does not leave the rest waiting.</summary>
    private async Task RunAsync(OutboxEntry entry, PreparedStages stages)
    {
        try
        {
            SendResult result;
            try
            {
                // A row another live activation of this worker holds waits for its lease, looked at again every few
                // seconds (its owner's silo may be declared dead meanwhile); a row finished meanwhile leaves the queue.
                var (claim, until) = await Claims.ClaimAsync(entry);
                if (claim != ClaimStage.Outcome.Go) stages.Gate.Refund(); // it does not go now: the limit is not spent on it
                if (claim == ClaimStage.Outcome.Wait)
                {
                    var left = until!.Value - time.GetUtcNow();
                    ArmPump(left < ClaimRecheck ? left : ClaimRecheck);
                    return;
                }
                if (claim == ClaimStage.Outcome.Lost) _queue.Remove(entry);
                result = claim == ClaimStage.Outcome.Lost ? SendResult.Yielded : await stages.Attempts.RunAsync(entry, () => state.State.Threads.GetValueOrDefault(entry.Thread)?.Ref,
                    async () => (await Claims.ClaimAsync(entry)).Outcome == ClaimStage.Outcome.Go, () => UpdateAsync(entry));
            }
            finally
            {
                _pump.Done(entry);
            }
            if (_stored is null) return; // stopped meanwhile: StopAsync reported it
            if (ReferenceEquals(result, SendResult.Yielded))
            {
                // Finished by another activation (it left the queue), or taken over during a long backoff (it stays
                // queued): either way the thread's next message may go, and the next walk decides again.
                logger.LogInformation("Channel {ChannelId}: {IdempotencyKey} is another activation's to send", ChannelId, entry.Notification.IdempotencyKey);
                Pump();
                return;
            }
            if (result.Delivered && result.ThreadRef is { } reference && state.State.Remember(entry.Thread, reference, time.GetUtcNow())) MarkDirty();
            await FinishAsync(entry, result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, result.Error);
            Pump();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: sending {IdempotencyKey} stopped; it stays pending and is tried again", ChannelId, entry.Notification.IdempotencyKey);
            ArmPump(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>The entry leaves the queue; its row becomes final and its sink hears the outcome (<see cref="RecordStage"/>).</summary>
    private Task FinishAsync(OutboxEntry entry, DeliveryState final, string? error)
    {
        _queue.Remove(entry);
        return Record.FinishAsync(entry, final, error, ChannelType);
    }

    private Task UpdateAsync(OutboxEntry entry) => Record.UpdateAsync(entry);

    /// <summary>
    /// Takes the silo's grain factory, not the activation's: a send that went out is recorded even when Orleans has just
    /// found this activation a duplicate (after a silo's death) and invalidated it, whose own factory then refuses.
    /// </summary>
    private RecordStage Record => _record ??= new RecordStage(grains, outbox, time, logger, ChannelId);

    private ClaimStage Claims => _claims ??= stages.Claims(ChannelId);

    /// <summary>What changed (threads, the held count) is written a second later, one write after another.</summary>
    private void MarkDirty()
    {
        _writes ??= new SerialWrites(() => state.WriteStateAsync(), logger, $"delivery worker {Key}");
        (_behind ??= new WriteBehind(this, _ => _writes.WriteAsync(), TimeSpan.FromSeconds(1))).Mark();
    }

    /// <summary>Walks again after <paramref name="wait"/> (at most an hour), or sooner when a walk is already due sooner (a rate limit's wait and a claim's lease share the timer).</summary>
    private void ArmPump(TimeSpan wait) =>
        (_pumpTimer ??= new DueTimer(this, () => { Pump(); return Task.CompletedTask; }, time, interleave: true)).Within(wait > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : wait);
}
