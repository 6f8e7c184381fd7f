using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Channels.Delivery;
using Monitoring.Channels.Templates;
using Monitoring.Common;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Observability;
using Monitoring.Rules;
using Monitoring.Settings;

namespace Monitoring.Channels;

/// <summary>The channel itself. Small: the outbox lives in the <see cref="IOutboxStore"/>, one row per notification.</summary>
[GenerateSerializer, Alias("mcp.ChannelState")]
public sealed class ChannelState
{
    [Id(0), JsonPropertyName("Channel")] public NotificationChannel? Channel { get; set; }

    /// <summary>Where the outbox lived before the outbox store; an activation moves what it finds here into the store.</summary>
    [Id(1), JsonPropertyName("Outbox")] public List<OutboxEntry> LegacyOutbox { get; set; } = [];

    [Id(4), JsonPropertyName("HeldTotal")] public long HeldTotal { get; set; }
}

/// <summary>What a channel remembers besides its outbox: written behind, at most once a second, and on deactivation.</summary>
[GenerateSerializer, Alias("mcp.ChannelLogState")]
public sealed class ChannelLogState
{
    /// <summary>Where the delivery log lived before the outbox store; an activation moves it into the store.</summary>
    [Id(0), JsonPropertyName("Log")] public List<DeliveryRecord> LegacyLog { get; set; } = [];

    /// <summary>The receiver's reference of each episode's first message (Slack's ts), for replies in its thread.</summary>
    [Id(1), JsonPropertyName("Threads")] public Dictionary<string, ThreadRef> Threads { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("mcp.ThreadRef")]
public sealed record ThreadRef([property: Id(0), JsonPropertyName("Ref")] string Ref, [property: Id(1), JsonPropertyName("At")] DateTimeOffset At);

/// <summary>
/// One notification channel: a pipeline of named stages, as Alertmanager's notify package has them.
/// Dedup (the outbox store refuses a key it holds), durable record (the same write), rate limit (<see cref="RateGate"/>:
/// held in order, never dropped), render and send with retry (<see cref="DeliveryAttempts"/>), and record the outcome
/// (the store's row, the history, a report to the alert). Messages of one alert episode go one at a time, in order, so
/// a resolution never overtakes its firing message. Reentrant, so a slow receiver does not queue other work; state is
/// touched only between awaits.
/// </summary>
[Reentrant]
[GrainType("notificationchannel")]
public sealed class NotificationChannelGrain(
    [PersistentState("channel", StorageNames.Channels)] IPersistentState<ChannelState> state,
    [PersistentState("deliveries", StorageNames.Channels)] IPersistentState<ChannelLogState> logState,
    ChannelSenders senders,
    MessageRenderer renderer,
    ClusterDeliveryLimiter clusterLimit,
    Security.SecretSealer sealer,
    IAlertHistory history,
    IOutboxStore outbox,
    IListingStore listings,
    IOptions<NotificationOptions> options,
    IOptions<MonitoringOptions> monitoring,
    StateDurability durability,
    TimeProvider time,
    ILogger<NotificationChannelGrain> logger)
    : Grain, INotificationChannelGrain, IRemindable
{
    private const string OutboxReminder = "outbox";
    private const int MaxThreads = 1000;
    private static readonly TimeSpan WriteBehind = TimeSpan.FromSeconds(1);

    /// <summary>Recorded and not finished, in the order recorded: this activation's view of its outbox rows.</summary>
    private readonly OutboxQueue _queue = new();
    private readonly HashSet<string> _sending = new(StringComparer.Ordinal);

    /// <summary>The episodes (thread keys) with a message on its way: the next message of one waits for it.</summary>
    private readonly Dictionary<string, int> _busyThreads = new(StringComparer.Ordinal);
    private readonly HashSet<string> _walkThreads = new(StringComparer.Ordinal);
    private NotificationChannel? _plain;
    private ChannelSettings _settings = new(null, RetrySettings.Default, MessageTemplates.None);
    private RateGate? _gate;
    private DeliveryAttempts? _attempts;
    private IGrainTimer? _pumpTimer;
    private IGrainTimer? _behindTimer;
    private bool _reminderRegistered;
    private bool _stateDirty;
    private bool _logDirty;
    private Task _stateWrites = Task.CompletedTask;

    private string ChannelId => this.GetPrimaryKeyString();
    private ChannelState S => state.State;
    private ChannelLogState L => logState.State;
    private string ChannelType => S.Channel?.Type ?? "unknown";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _plain = S.Channel is { } stored ? stored with { Config = sealer.Unseal(stored.Config) } : null;
        Prepare();
        if (S.Channel is null) return;
        await MoveLegacyOutboxAsync();
        // Whatever a previous activation left in the outbox (a restart, a dead silo) carries on here.
        foreach (var pending in await outbox.PendingAsync(ChannelId)) _queue.Add(pending);
        await outbox.PruneAsync(ChannelId, time.GetUtcNow() - options.Value.DedupRetention);
        if (_queue.Count > 0) await EnsureReminderAsync();
        Pump();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!(durability.Volatile && reason.ReasonCode == DeactivationReasonCode.ShuttingDown)) await FlushBehindAsync();
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
        var rules = await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).RulesUsingChannelAsync(ChannelId);
        if (rules.Length > 0)
        {
            return WriteResult.Conflict($"channel '{ChannelId}' is used by rules: {string.Join(", ", rules)}; change those rules first");
        }
        var policies = await PoliciesUsingAsync();
        if (policies.Length > 0)
        {
            return WriteResult.Conflict($"channel '{ChannelId}' is used by escalation policies: {string.Join(", ", policies)}; change those first");
        }
        // Nothing is dropped silently: what was still pending is reported failed to its alert.
        foreach (var entry in _queue.ToList())
        {
            await FinishAsync(entry, DeliveryState.Failed, "the channel was deleted");
        }
        await outbox.DeleteChannelAsync(ChannelId);
        await _stateWrites;
        await state.ClearStateAsync();
        state.State = new ChannelState();
        _plain = null;
        _stateDirty = _logDirty = false;
        await logState.ClearStateAsync();
        logState.State = new ChannelLogState();
        _attempts = null;
        await listings.RemoveAsync<ChannelEntry>(ChannelId);
        logger.LogInformation("Channel {ChannelId} deleted", ChannelId);
        return WriteResult.Ok;
    }

    public Task<ChannelView?> GetAsync() => Task.FromResult(_plain is { } channel ? View(channel) : null);

    public Task<bool> ExistsAsync() => Task.FromResult(S.Channel is not null);

    public async Task<EnqueueOutcome> EnqueueAsync(Notification notification)
    {
        if (S.Channel is null || _attempts is null)
        {
            return EnqueueOutcome.UnknownChannel;
        }
        var now = time.GetUtcNow();
        var entry = new OutboxEntry { Notification = notification, RecordedAt = now, UpdatedAt = now };
        // Dedup and durable record in one write: a key the store holds, pending or finished, is not recorded twice.
        if (!await outbox.TryRecordAsync(ChannelId, entry))
        {
            return EnqueueOutcome.Duplicate;
        }
        _queue.Add(entry);
        await EnsureReminderAsync();
        Pump();
        return EnqueueOutcome.Recorded;
    }

    public async Task<DeliveryRecord[]> GetDeliveriesAsync(int limit)
    {
        limit = Math.Clamp(limit, 1, options.Value.DeliveryLogSize);
        var pending = _queue.OrderByDescending(e => e.RecordedAt).Select(e => e.Record(ChannelId)).Take(limit).ToList();
        if (pending.Count < limit) pending.AddRange(await outbox.FinishedAsync(ChannelId, limit - pending.Count));
        return [.. pending];
    }

    public async Task<TestDelivery> SendTestAsync()
    {
        if (S.Channel is null || _attempts is null)
        {
            return new TestDelivery(false, "the channel does not exist", TimeSpan.Zero, "");
        }
        var now = time.GetUtcNow();
        var notification = new Notification(
            $"test-{Guid.NewGuid():N}", "test", "Test message", "test", "Test server", Severity.Info, NotificationKind.Test, "test",
            $"A test message for channel '{ChannelId}' from MCP Alerting. If you can read this, the channel works.", 0, now, now,
            [], new() { ["channel"] = ChannelId }, "test", 0);
        var started = Stopwatch.GetTimestamp();
        var result = await _attempts.AttemptAsync(notification, attempt: 1, threadRef: null);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await outbox.FinishAsync(ChannelId, new DeliveryRecord(notification.IdempotencyKey, notification.AlertId, ChannelId, NotificationKind.Test,
            result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, 1, now, time.GetUtcNow(), result.Error));
        return new TestDelivery(result.Delivered, result.Error, elapsed, notification.IdempotencyKey);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (_queue.Count > 0)
        {
            Pump();
            return;
        }
        if (await this.GetReminder(OutboxReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        _reminderRegistered = false;
    }

    /// <summary>Starts every entry that is not already on its way, in order, as far as the rate limits allow.</summary>
    private void Pump()
    {
        if (S.Channel is not { } channel || _attempts is null || _gate is null || _queue.Count == 0)
        {
            return;
        }
        // Retries may run up to the maximum age; the activation must outlive them.
        DelayDeactivation(_settings.Retry.MaxAge + TimeSpan.FromMinutes(5));
        var now = time.GetUtcNow();
        var limitedBy = (string?)null;
        var maxInFlight = Math.Max(1, options.Value.MaxInFlightPerChannel);
        // One message of an alert episode at a time, in order: a resolution never overtakes its firing message,
        // and a reply finds the thread of the message before it. At most MaxInFlightPerChannel are on their way:
        // the walk stops there, so a storm's queue of thousands costs a pass of about that many, not all of it.
        var busyThreads = _walkThreads; // reused: the pump runs for every message recorded and finished
        busyThreads.Clear();
        foreach (var thread in _busyThreads.Keys) busyThreads.Add(thread);
        foreach (var entry in _queue)
        {
            if (_sending.Contains(entry.Key))
            {
                continue;
            }
            if (!busyThreads.Add(entry.Thread))
            {
                continue;
            }
            if (limitedBy is null && _sending.Count >= maxInFlight)
            {
                break; // the rest wait (pending, not held): a finished send pumps again
            }
            if (!channel.Enabled)
            {
                _ = FinishAsync(entry, DeliveryState.Disabled, "the channel is disabled");
                continue;
            }
            if (limitedBy is null && !_gate.TryPass(now, out var wait, out var limit))
            {
                limitedBy = limit;
                ArmPump(wait);
            }
            if (limitedBy is not null)
            {
                // Held in order: this one and every later one wait for the next token.
                if (!entry.Held)
                {
                    entry.Held = true;
                    entry.UpdatedAt = now;
                    S.HeldTotal++;
                    MarkStateDirty();
                    MonitoringMetrics.NotificationsHeld.WithLabels(ChannelType, limitedBy).Inc();
                    _ = UpdateAsync(entry);
                }
                continue;
            }
            entry.Held = false;
            _sending.Add(entry.Key);
            _busyThreads[entry.Thread] = _busyThreads.GetValueOrDefault(entry.Thread) + 1;
            _ = RunAsync(entry);
        }
    }

    /// <summary>
    /// Runs one entry, and whatever happens frees its slot for the next: with at most MaxInFlightPerChannel on their
    /// way, a send that ended in an exception must not leave the rest waiting for the reminder.
    /// </summary>
    private async Task RunAsync(OutboxEntry entry)
    {
        try
        {
            await RunOnceAsync(entry);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: sending {IdempotencyKey} stopped; it stays pending and is tried again", ChannelId, entry.Notification.IdempotencyKey);
            ArmPump(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Attempts one entry until it is delivered, fails for good, or runs out of age; then finishes it.</summary>
    private async Task RunOnceAsync(OutboxEntry entry)
    {
        var notification = entry.Notification;
        var attempts = _attempts!;
        SendResult result;
        try
        {
            result = await attempts.RunAsync(entry, () => L.Threads.GetValueOrDefault(notification.ThreadKey)?.Ref, () => UpdateAsync(entry));
        }
        finally
        {
            _sending.Remove(entry.Key);
            if (_busyThreads.TryGetValue(entry.Thread, out var busy) && busy > 1) _busyThreads[entry.Thread] = busy - 1;
            else _busyThreads.Remove(entry.Thread);
        }
        if (S.Channel is null)
        {
            return; // deleted meanwhile; DeleteAsync reported it
        }
        if (result.Delivered && result.ThreadRef is { } reference && !L.Threads.ContainsKey(notification.ThreadKey))
        {
            L.Threads[notification.ThreadKey] = new ThreadRef(reference, time.GetUtcNow());
            if (L.Threads.Count > MaxThreads)
            {
                foreach (var old in L.Threads.OrderBy(t => t.Value.At).Take(L.Threads.Count - MaxThreads).ToList()) L.Threads.Remove(old.Key);
            }
            MarkLogDirty();
        }
        await FinishAsync(entry, result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, result.Error);
        Pump();
    }

    /// <summary>The record stage: the entry's row becomes final, its key stays known, and the alert hears the outcome.</summary>
    private async Task FinishAsync(OutboxEntry entry, DeliveryState final, string? error)
    {
        _queue.Remove(entry);
        renderer.Finished(entry.Notification.IdempotencyKey);
        entry.UpdatedAt = time.GetUtcNow();
        var record = entry.Record(ChannelId, final, final == DeliveryState.Delivered ? null : error);
        MonitoringMetrics.Notifications.WithLabels(ChannelType, final.ToString().ToLowerInvariant()).Inc();
        if (final == DeliveryState.Failed)
        {
            logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId} failed after {Attempts} attempts: {Error}",
                record.IdempotencyKey, ChannelId, record.Attempts, error);
        }
        try
        {
            await outbox.FinishAsync(ChannelId, record);
        }
        catch (Exception e)
        {
            // The row stays pending: a later activation sends it again (at least once), with the same key.
            logger.LogWarning(e, "Channel {ChannelId}: the outcome of {IdempotencyKey} was not stored", ChannelId, record.IdempotencyKey);
        }
        Report(entry.Notification, record);
    }

    private async Task UpdateAsync(OutboxEntry entry)
    {
        Report(entry.Notification, entry.Record(ChannelId));
        try
        {
            await outbox.UpdateAsync(ChannelId, entry);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: the progress of {IdempotencyKey} was not stored", ChannelId, entry.Notification.IdempotencyKey);
        }
    }

    /// <summary>Tells the message's sink how its delivery went: the channel does not know, or ask, who sent it.</summary>
    private void Report(Notification notification, DeliveryRecord record)
    {
        if (record.Kind == NotificationKind.Test) return;
        _ = DeliverySinks.Of(GrainFactory, notification).ReportDeliveryAsync(record);
    }

    /// <summary>An outbox and log from before the outbox store move into it, once.</summary>
    private async Task MoveLegacyOutboxAsync()
    {
        if (S.LegacyOutbox.Count == 0 && L.LegacyLog.Count == 0) return;
        foreach (var record in Enumerable.Reverse(L.LegacyLog)) await outbox.FinishAsync(ChannelId, record);
        foreach (var entry in S.LegacyOutbox) await outbox.TryRecordAsync(ChannelId, entry);
        logger.LogInformation("Channel {ChannelId}: moved {Pending} pending notifications and {Finished} log entries into the outbox store",
            ChannelId, S.LegacyOutbox.Count, L.LegacyLog.Count);
        S.LegacyOutbox = [];
        L.LegacyLog = [];
        await state.WriteStateAsync();
        await logState.WriteStateAsync();
    }

    private void MarkStateDirty()
    {
        _stateDirty = true;
        ArmBehind();
    }

    private void MarkLogDirty()
    {
        _logDirty = true;
        ArmBehind();
    }

    private void ArmBehind()
    {
        _behindTimer ??= this.RegisterGrainTimer(_ => FlushBehindAsync(), new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = true });
        _behindTimer.Change(WriteBehind, Timeout.InfiniteTimeSpan);
    }

    private async Task FlushBehindAsync()
    {
        if (_stateDirty)
        {
            _stateDirty = false;
            await WriteStateAsync();
        }
        if (_logDirty)
        {
            _logDirty = false;
            await logState.WriteStateAsync();
        }
    }

    /// <summary>State writes one after another: interleaved turns never race two writes of the same grain.</summary>
    private Task WriteStateAsync()
    {
        _stateWrites = WriteAfterAsync(_stateWrites);
        return _stateWrites;
    }

    private async Task WriteAfterAsync(Task previous)
    {
        try
        {
            await previous;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "An earlier state write of channel {ChannelId} failed; writing again", ChannelId);
        }
        await state.WriteStateAsync();
    }

    private void ArmPump(TimeSpan wait)
    {
        if (wait > TimeSpan.FromHours(1)) wait = TimeSpan.FromHours(1);
        _pumpTimer ??= this.RegisterGrainTimer(_ =>
        {
            Pump();
            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = true });
        _pumpTimer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderRegistered)
        {
            return;
        }
        _reminderRegistered = true;
        try
        {
            await this.RegisterOrUpdateReminder(OutboxReminder, monitoring.Value.ReminderPeriod, monitoring.Value.ReminderPeriod);
        }
        catch (Exception e)
        {
            // The rows are stored: any later activation carries them on. Try the reminder again with the next notification.
            _reminderRegistered = false;
            logger.LogWarning(e, "Channel {ChannelId}: its outbox reminder could not be registered", ChannelId);
        }
    }

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
        var stages = Build(plain);
        var entry = new ChannelEntry(View(plain));
        var (previousStored, previousPlain, previousStages) = (S.Channel, _plain, (_settings, _gate, _attempts));
        S.Channel = plain with { Config = sealer.Seal(plain.Config) };
        try
        {
            await WriteStateAsync();
            (_plain, (_settings, _gate, _attempts)) = (plain, stages);
            await listings.UpsertAsync(entry);
        }
        catch
        {
            // A write that fails leaves the channel as it was: stored, prepared and listed, or absent from all three.
            (S.Channel, _plain, (_settings, _gate, _attempts)) = (previousStored, previousPlain, previousStages);
            await UndoAsync(previousStored is null);
            throw;
        }
        logger.LogInformation("Channel {ChannelId} of type {ChannelType} saved", ChannelId, channel.Type);
        Pump();
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

    /// <summary>Builds the stages from the stored channel's config, when the grain activates.</summary>
    /// <summary>Signatures of Slack requests taken in the last 10 minutes (twice Slack's 5-minute window): a repeat is a replay.</summary>
    private readonly Dictionary<string, DateTimeOffset> _slackSeen = new(StringComparer.Ordinal);

    public Task<SlackRequestCheck> CheckSlackRequestAsync(string timestamp, string signature, byte[] body)
    {
        if (_plain is not { Type: "slack" } channel || Slack.SlackSender.ReadConfig(channel.Config) is not { Interactive: true } config)
        {
            return Task.FromResult(SlackRequestCheck.NotInteractive);
        }
        var basis = System.Text.Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        using var hmac = new System.Security.Cryptography.HMACSHA256(System.Text.Encoding.UTF8.GetBytes(config.SigningSecret!));
        hmac.TransformBlock(basis, 0, basis.Length, null, 0);
        hmac.TransformFinalBlock(body, 0, body.Length);
        var expected = System.Text.Encoding.ASCII.GetBytes("v0=" + Convert.ToHexStringLower(hmac.Hash!));
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, System.Text.Encoding.ASCII.GetBytes(signature)))
        {
            return Task.FromResult(SlackRequestCheck.BadSignature);
        }
        var now = time.GetUtcNow();
        foreach (var old in _slackSeen.Where(s => now - s.Value > TimeSpan.FromMinutes(10)).Select(s => s.Key).ToList()) _slackSeen.Remove(old);
        if (!_slackSeen.TryAdd(signature, now)) return Task.FromResult(SlackRequestCheck.Replayed);
        return Task.FromResult(SlackRequestCheck.Valid);
    }

    public async Task<string?> UpdateSlackMessageAsync(string slackChannel, string ts, string text)
    {
        if (_plain is not { Type: "slack" } channel || Slack.SlackSender.ReadConfig(channel.Config) is not { Token: not null } config
            || senders.Find("slack") is not Slack.SlackSender slack)
        {
            return "not a Slack bot-token channel";
        }
        return await slack.UpdateAsync(config, slackChannel, ts, text, CancellationToken.None);
    }

    private void Prepare() => (_settings, _gate, _attempts) = _plain is { } channel ? Build(channel) : (_settings, null, null);

    /// <summary>The stages for a channel's config: its settings (rate limit, templates, retry), rate gate and sender.</summary>
    private (ChannelSettings Settings, RateGate? Gate, DeliveryAttempts? Attempts) Build(NotificationChannel channel)
    {
        if (senders.Find(channel.Type) is not { } sender)
        {
            return (_settings, null, null);
        }
        using var document = JsonDocument.Parse(channel.Config);
        var settings = ChannelSettings.Read(document.RootElement);
        var bucket = settings.RateLimit is { } rate ? new TokenBucket(rate.PerSecond, rate.Burst) : null;
        return (settings, new RateGate(bucket, clusterLimit), new DeliveryAttempts(ChannelId, channel.Type, sender.Prepare(channel.Id, document.RootElement), settings, renderer, history, time, logger));
    }

    private ChannelView View(NotificationChannel channel) =>
        new(channel.Id, channel.Type, channel.Enabled, senders.Redact(channel), channel.CreatedAt, channel.UpdatedAt)
        {
            Pending = _queue.Count,
            Held = _queue.Held,
            HeldTotal = S.HeldTotal,
        };

    private async Task<string[]> PoliciesUsingAsync()
    {
        var (policies, _) = await listings.QueryAsync<PolicyEntry>([], int.MaxValue, 0);
        return [.. policies.Where(e => e.Policy.AllChannels.Contains(ChannelId)).Select(e => e.Id)];
    }
}
