using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Channels.Delivery;
using Monitoring.Channels.Templates;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Settings;
using Monitoring.Listings;
using Monitoring.Rules;
using Monitoring.Observability;
using Polly;
using Polly.Retry;

namespace Monitoring.Channels;

/// <summary>What must be durable before a send: the channel and its outbox. Kept small, as every send writes it.</summary>
[GenerateSerializer, Alias("mcp.ChannelState")]
public sealed class ChannelState
{
    [Id(0), JsonPropertyName("Channel")] public NotificationChannel? Channel { get; set; }

    /// <summary>Recorded, not yet finished: the durable outbox. A silo that dies leaves it for the next activation.</summary>
    [Id(1), JsonPropertyName("Outbox")] public List<OutboxEntry> Outbox { get; set; } = [];

    [Id(4), JsonPropertyName("HeldTotal")] public long HeldTotal { get; set; }
}

/// <summary>What a channel remembers of finished work: written behind, at most once a second, and on deactivation.</summary>
[GenerateSerializer, Alias("mcp.ChannelLogState")]
public sealed class ChannelLogState
{
    /// <summary>Finished deliveries, newest first.</summary>
    [Id(0), JsonPropertyName("Log")] public List<DeliveryRecord> Log { get; set; } = [];

    /// <summary>The receiver's reference of each episode's first message (Slack's ts), for replies in its thread.</summary>
    [Id(1), JsonPropertyName("Threads")] public Dictionary<string, ThreadRef> Threads { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Alias("mcp.OutboxEntry")]
public sealed class OutboxEntry
{
    [Id(0), JsonPropertyName("Notification")] public Notification Notification { get; set; } = null!;
    [Id(1), JsonPropertyName("RecordedAt")] public DateTimeOffset RecordedAt { get; set; }
    [Id(2), JsonPropertyName("Attempts")] public int Attempts { get; set; }
    [Id(3), JsonPropertyName("UpdatedAt")] public DateTimeOffset UpdatedAt { get; set; }
    [Id(4), JsonPropertyName("LastError")] public string? LastError { get; set; }
    [Id(5), JsonPropertyName("Held")] public bool Held { get; set; }

    public DeliveryRecord Record(string channelId, DeliveryState? final = null, string? error = null) => new(
        Notification.IdempotencyKey, Notification.AlertId, channelId, Notification.Kind,
        final ?? (Held ? DeliveryState.Held : DeliveryState.Pending), Attempts, RecordedAt, UpdatedAt, error ?? LastError);
}

[GenerateSerializer, Immutable, Alias("mcp.ThreadRef")]
public sealed record ThreadRef([property: Id(0), JsonPropertyName("Ref")] string Ref, [property: Id(1), JsonPropertyName("At")] DateTimeOffset At);

/// <summary>
/// One notification channel and its durable outbox. A notification is written to grain state before the first
/// attempt; attempts retry with exponential backoff and jitter (Polly) until the channel's maximum age; the outcome
/// goes to the delivery log and back to the alert. A per-channel token bucket and the cluster's share hold
/// notifications back, in order, and never drop them. Reentrant, so a slow receiver does not queue other work; state
/// is touched only between awaits, and writes are chained so they never overlap.
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
    History.IAlertHistory history,
    IListingStore listings,
    IOptions<NotificationOptions> options,
    IOptions<MonitoringOptions> monitoring,
    TimeProvider time,
    ILogger<NotificationChannelGrain> logger)
    : Grain, INotificationChannelGrain, IRemindable
{
    private const string OutboxReminder = "outbox";
    private const int MaxThreads = 1000;
    private static readonly ResiliencePropertyKey<DateTimeOffset> RecordedAtKey = new("recorded-at");
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);
    private readonly HashSet<string> _sending = new(StringComparer.Ordinal);
    private IPreparedChannel? _prepared;
    private ChannelSettings _settings = new(null, RetrySettings.Default, MessageTemplates.None);
    private TokenBucket? _bucket;
    private ResiliencePipeline<SendResult> _pipeline = ResiliencePipeline<SendResult>.Empty;
    private IGrainTimer? _pumpTimer;
    private Task _writes = Task.CompletedTask;
    private bool _reminderRegistered;
    private bool _logDirty;
    private IGrainTimer? _logTimer;

    private string ChannelId => this.GetPrimaryKeyString();
    private ChannelState S => state.State;

    /// <summary>The channel with its config in clear, in memory only; the state holds it sealed (Data Protection).</summary>
    private NotificationChannel? _plain;
    private ChannelLogState L => logState.State;
    private string ChannelType => S.Channel?.Type ?? "unknown";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _plain = S.Channel is { } stored ? stored with { Config = sealer.Unseal(stored.Config) } : null;
        Prepare();
        // Whatever a previous activation left in the outbox (a restart, a dead silo) carries on here.
        Pump();
        return Task.CompletedTask;
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
        foreach (var entry in S.Outbox.ToList())
        {
            Finish(entry, DeliveryState.Failed, "the channel was deleted");
        }
        await _writes;
        await state.ClearStateAsync();
        state.State = new ChannelState();
        _plain = null;
        _logDirty = false;
        await logState.ClearStateAsync();
        logState.State = new ChannelLogState();
        _prepared = null;
        await listings.RemoveAsync<ChannelEntry>(ChannelId);
        logger.LogInformation("Channel {ChannelId} deleted", ChannelId);
        return WriteResult.Ok;
    }

    public Task<ChannelView?> GetAsync() => Task.FromResult(_plain is { } channel ? View(channel) : null);

    public Task<bool> ExistsAsync() => Task.FromResult(S.Channel is not null);

    public async Task<EnqueueOutcome> EnqueueAsync(Notification notification)
    {
        if (S.Channel is null || _prepared is null)
        {
            return EnqueueOutcome.UnknownChannel;
        }
        var key = notification.IdempotencyKey;
        if (S.Outbox.Any(e => e.Notification.IdempotencyKey == key) || L.Log.Any(r => r.IdempotencyKey == key))
        {
            return EnqueueOutcome.Duplicate;
        }
        var now = time.GetUtcNow();
        S.Outbox.Add(new OutboxEntry { Notification = notification, RecordedAt = now, UpdatedAt = now });
        await PersistAsync();
        await EnsureReminderAsync();
        Pump();
        return EnqueueOutcome.Recorded;
    }

    public Task<DeliveryRecord[]> GetDeliveriesAsync(int limit) => Task.FromResult(
        S.Outbox.OrderByDescending(e => e.RecordedAt).Select(e => e.Record(ChannelId)).Concat(L.Log)
            .Take(Math.Clamp(limit, 1, options.Value.DeliveryLogSize)).ToArray());

    public async Task<TestDelivery> SendTestAsync()
    {
        if (S.Channel is null || _prepared is null)
        {
            return new TestDelivery(false, "the channel does not exist", TimeSpan.Zero, "");
        }
        var now = time.GetUtcNow();
        var notification = new Notification(
            $"test-{Guid.NewGuid():N}", "test", "Test message", "test", "Test server", Severity.Info, NotificationKind.Test, "test",
            $"A test message for channel '{ChannelId}' from MCP Alerting. If you can read this, the channel works.", 0, now, now,
            [], new() { ["channel"] = ChannelId }, "test", 0);
        var started = Stopwatch.GetTimestamp();
        var result = await AttemptAsync(notification, attempt: 1);
        var elapsed = Stopwatch.GetElapsedTime(started);
        AddToLog(new DeliveryRecord(notification.IdempotencyKey, notification.AlertId, ChannelId, NotificationKind.Test,
            result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, 1, now, time.GetUtcNow(), result.Error));
        await PersistAsync();
        return new TestDelivery(result.Delivered, result.Error, elapsed, notification.IdempotencyKey);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.Outbox.Count > 0)
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

    /// <summary>Starts every outbox entry that is not already on its way, in order, as far as the rate limits allow.</summary>
    private void Pump()
    {
        if (S.Channel is not { } channel || _prepared is null || S.Outbox.Count == 0)
        {
            return;
        }
        // Retries may run up to the maximum age; the activation must outlive them.
        DelayDeactivation(_settings.Retry.MaxAge + TimeSpan.FromMinutes(5));
        var now = time.GetUtcNow();
        var changed = false;
        var limitedBy = (string?)null;
        // One message of an alert episode at a time, in order: a resolution never overtakes its firing message,
        // and a reply finds the thread of the message before it.
        var busyThreads = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in S.Outbox.ToList())
        {
            if (!busyThreads.Add(entry.Notification.ThreadKey) || _sending.Contains(entry.Notification.IdempotencyKey))
            {
                continue;
            }
            if (!channel.Enabled)
            {
                Finish(entry, DeliveryState.Disabled, "the channel is disabled");
                continue;
            }
            if (limitedBy is null && !TryTakeToken(now, out var wait, out var limit))
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
                    changed = true;
                    MonitoringMetrics.NotificationsHeld.WithLabels(ChannelType, limitedBy).Inc();
                    Report(entry.Record(ChannelId));
                }
                continue;
            }
            if (entry.Held)
            {
                entry.Held = false;
                changed = true;
            }
            _sending.Add(entry.Notification.IdempotencyKey);
            _ = RunAsync(entry);
        }
        if (changed)
        {
            _ = PersistAsync();
        }
    }

    private bool TryTakeToken(DateTimeOffset now, out TimeSpan wait, out string limit)
    {
        limit = "channel";
        wait = _bucket?.WaitFor(now) ?? TimeSpan.Zero;
        if (wait > TimeSpan.Zero)
        {
            return false;
        }
        limit = "cluster";
        if (!clusterLimit.TryAcquire(out wait))
        {
            return false;
        }
        _bucket?.TryTake(now);
        return true;
    }

    /// <summary>Attempts one entry until it is delivered, fails for good, or runs out of age; then finishes it.</summary>
    private async Task RunAsync(OutboxEntry entry)
    {
        var notification = entry.Notification;
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true);
        context.Properties.Set(RecordedAtKey, entry.RecordedAt);
        SendResult result;
        try
        {
            result = await _pipeline.ExecuteAsync(async _ =>
            {
                entry.Attempts++;
                entry.UpdatedAt = time.GetUtcNow();
                var attempt = await AttemptAsync(notification, entry.Attempts);
                entry.UpdatedAt = time.GetUtcNow();
                if (!attempt.Delivered)
                {
                    entry.LastError = attempt.Error;
                    Report(entry.Record(ChannelId));
                    await PersistAsync();
                }
                return attempt;
            }, context);
        }
        catch (Exception e)
        {
            result = SendResult.Failure($"delivery stopped: {e.GetType().Name}", retryable: false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            _sending.Remove(notification.IdempotencyKey);
        }
        if (S.Channel is null)
        {
            return; // deleted meanwhile; DeleteAsync reported it
        }
        if (result.Delivered && result.ThreadRef is { } reference && !L.Threads.ContainsKey(notification.ThreadKey))
        {
            L.Threads[notification.ThreadKey] = new ThreadRef(reference, time.GetUtcNow());
            MarkLogDirty();
            if (L.Threads.Count > MaxThreads)
            {
                foreach (var old in L.Threads.OrderBy(t => t.Value.At).Take(L.Threads.Count - MaxThreads).ToList()) L.Threads.Remove(old.Key);
            }
        }
        Finish(entry, result.Delivered ? DeliveryState.Delivered : DeliveryState.Failed, result.Error);
        await PersistAsync();
        Pump();
    }

    /// <summary>One attempt at one notification; a sender that throws counts as a failed attempt.</summary>
    private async Task<SendResult> AttemptAsync(Notification notification, int attempt)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = MonitoringTracing.Source.StartActivity($"notify {ChannelType}", ActivityKind.Client);
        activity?.SetTag("channel.id", ChannelId);
        activity?.SetTag("channel.type", ChannelType);
        activity?.SetTag("notification.idempotency_key", notification.IdempotencyKey);
        activity?.SetTag("notification.attempt", attempt);
        SendResult result;
        try
        {
            var rendered = renderer.Render(notification, _settings.Templates);
            var thread = L.Threads.GetValueOrDefault(notification.ThreadKey)?.Ref;
            result = await _prepared!.SendAsync(new OutgoingMessage(notification, rendered, ChannelId, thread, attempt), CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Channel {ChannelId} threw while sending {IdempotencyKey}", ChannelId, notification.IdempotencyKey);
            result = SendResult.Failure($"the sender failed: {e.GetType().Name}");
        }
        MonitoringMetrics.NotificationLatency.WithLabels(ChannelType).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        try
        {
            await history.AppendDeliveryAsync(new History.DeliveryRow(notification.IdempotencyKey, notification.AlertId, ChannelId,
                notification.Kind.ToString().ToLowerInvariant(), result.Delivered ? "delivered" : "failed", attempt, result.Error, time.GetUtcNow()));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: attempt {Attempt} of {IdempotencyKey} not written to the history", ChannelId, attempt, notification.IdempotencyKey);
        }
        if (!result.Delivered)
        {
            activity?.SetStatus(ActivityStatusCode.Error, result.Error);
            MonitoringMetrics.DeliveryAttemptsFailed.WithLabels(ChannelType, result.RetryAfter is null ? (result.Retryable ? "transient" : "permanent") : "rate_limited").Inc();
            logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId}, attempt {Attempt}, failed: {Error}",
                notification.IdempotencyKey, ChannelId, attempt, result.Error);
        }
        return result;
    }

    private void Finish(OutboxEntry entry, DeliveryState final, string? error)
    {
        S.Outbox.Remove(entry);
        entry.UpdatedAt = time.GetUtcNow();
        var record = entry.Record(ChannelId, final, final == DeliveryState.Delivered ? null : error);
        AddToLog(record);
        MonitoringMetrics.Notifications.WithLabels(ChannelType, final.ToString().ToLowerInvariant()).Inc();
        if (final == DeliveryState.Failed)
        {
            logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId} failed after {Attempts} attempts: {Error}",
                record.IdempotencyKey, ChannelId, record.Attempts, error);
        }
        Report(record);
    }

    private void AddToLog(DeliveryRecord record)
    {
        L.Log.Insert(0, record);
        if (L.Log.Count > options.Value.DeliveryLogSize)
        {
            L.Log.RemoveRange(options.Value.DeliveryLogSize, L.Log.Count - options.Value.DeliveryLogSize);
        }
        MarkLogDirty();
    }

    private void MarkLogDirty()
    {
        if (_logDirty) return;
        _logDirty = true;
        _logTimer ??= this.RegisterGrainTimer(_ => FlushLogAsync(), new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = true });
        _logTimer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
    }

    private async Task FlushLogAsync()
    {
        if (!_logDirty) return;
        _logDirty = false;
        await logState.WriteStateAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _writes;
        await FlushLogAsync();
    }

    private void Report(DeliveryRecord record)
    {
        if (record.Kind != NotificationKind.Test)
        {
            _ = GrainFactory.GetGrain<IAlertGrain>(record.AlertId).ReportDeliveryAsync(record);
        }
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
        await this.RegisterOrUpdateReminder(OutboxReminder, monitoring.Value.ReminderPeriod, monitoring.Value.ReminderPeriod);
    }

    /// <summary>State writes one after another: interleaved turns never race two writes of the same grain.</summary>
    private Task PersistAsync()
    {
        _writes = WriteAfterAsync(_writes);
        return _writes;
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
        var now = time.GetUtcNow();
        _plain = channel with { CreatedAt = S.Channel?.CreatedAt ?? now, UpdatedAt = now };
        S.Channel = _plain with { Config = sealer.Seal(_plain.Config) };
        await PersistAsync();
        Prepare();
        await listings.UpsertAsync(new ChannelEntry(View(_plain)));
        logger.LogInformation("Channel {ChannelId} of type {ChannelType} saved", ChannelId, channel.Type);
        Pump();
        return WriteResult.Ok;
    }

    private void Prepare()
    {
        if (_plain is not { } channel || senders.Find(channel.Type) is not { } sender)
        {
            _prepared = null;
            return;
        }
        using var document = JsonDocument.Parse(channel.Config);
        _prepared = sender.Prepare(channel.Id, document.RootElement);
        _settings = ChannelSettings.Read(document.RootElement);
        _bucket = _settings.RateLimit is { } rate ? new TokenBucket(rate.PerSecond, rate.Burst) : null;
        var retry = _settings.Retry;
        _pipeline = new ResiliencePipelineBuilder<SendResult> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<SendResult>
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.InitialDelay,
                MaxDelay = retry.MaxDelay,
                // Retry what a retry can fix, while the notification is younger than the maximum age.
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { Delivered: false, Retryable: true }
                    && time.GetUtcNow() - args.Context.Properties.GetValue(RecordedAtKey, time.GetUtcNow()) < retry.MaxAge),
                // A receiver's own Retry-After wins over the backoff.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter is { } after
                    ? (TimeSpan?)(after > MaxRetryAfter ? MaxRetryAfter : after)
                    : null),
            })
            .Build();
    }

    private ChannelView View(NotificationChannel channel) =>
        new(channel.Id, channel.Type, channel.Enabled, senders.Redact(channel), channel.CreatedAt, channel.UpdatedAt)
        {
            Pending = S.Outbox.Count,
            Held = S.Outbox.Count(e => e.Held),
            HeldTotal = S.HeldTotal,
        };

    private async Task<string[]> PoliciesUsingAsync()
    {
        var (policies, _) = await listings.QueryAsync<PolicyEntry>([], int.MaxValue, 0);
        return [.. policies.Where(e => e.Policy.AllChannels.Contains(ChannelId)).Select(e => e.Id)];
    }

}
