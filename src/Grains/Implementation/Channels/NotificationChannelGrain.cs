using System.Diagnostics;
using System.Text.Json;
using Monitoring.Common;
using Monitoring.Hosting;
using Monitoring.Indexing;
using Monitoring.Rules;
using Monitoring.Telemetry;

namespace Monitoring.Channels;

[GenerateSerializer]
public sealed class ChannelState
{
    [Id(0)] public NotificationChannel? Channel { get; set; }
}

/// <summary>
/// One notification channel. Reentrant, so deliveries to a slow receiver overlap instead of queueing one
/// behind another; the rate limit and the delivery log are only touched between awaits.
/// </summary>
[Reentrant]
public sealed class NotificationChannelGrain(
    [PersistentState("channel", StorageNames.Channels)] IPersistentState<ChannelState> state,
    ChannelSenders senders,
    TimeProvider time,
    ILogger<NotificationChannelGrain> logger)
    : Grain, INotificationChannelGrain
{
    private const int DeliveryLogSize = 200;
    private readonly LinkedList<DeliveryRecord> _deliveries = new();
    private readonly Queue<Notification> _held = new();
    private IPreparedChannel? _prepared;
    private CommonChannelSettings _settings = new(TimeSpan.Zero);
    private DateTimeOffset? _lastSentAt;
    private IGrainTimer? _releaseTimer;

    private string ChannelId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Prepare();
        return Task.CompletedTask;
    }

    public Task<WriteResult> CreateAsync(NotificationChannel channel) =>
        state.State.Channel is not null ? Task.FromResult(WriteResult.Duplicate(ChannelId)) : SaveAsync(channel, channel.CreatedAt);

    public Task<WriteResult> UpdateAsync(NotificationChannel channel) =>
        state.State.Channel is not { } existing ? Task.FromResult(WriteResult.NotFound) : SaveAsync(channel, existing.CreatedAt);

    public async Task<WriteResult> DeleteAsync()
    {
        if (state.State.Channel is null)
        {
            return WriteResult.NotFound;
        }
        var users = await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).RulesUsingChannelAsync(ChannelId);
        if (users.Length > 0)
        {
            return WriteResult.Conflict($"channel '{ChannelId}' is used by rules: {string.Join(", ", users)}; change those rules first");
        }
        await state.ClearStateAsync();
        state.State = new ChannelState();
        _prepared = null;
        await Index.RemoveAsync(ChannelId);
        logger.LogInformation("Channel {ChannelId} deleted", ChannelId);
        return WriteResult.Ok;
    }

    public Task<ChannelView?> GetAsync() => Task.FromResult(state.State.Channel is { } channel ? View(channel) : null);

    public Task<bool> ExistsAsync() => Task.FromResult(state.State.Channel is not null);

    public Task NotifyAsync(Notification notification)
    {
        var channel = state.State.Channel;
        if (channel is null || _prepared is null)
        {
            logger.LogWarning("Notification {IdempotencyKey} for missing channel {ChannelId} dropped", notification.IdempotencyKey, ChannelId);
            MonitoringMetrics.Notifications.WithLabels(ChannelId, "missing_channel").Inc();
            return Task.CompletedTask;
        }
        if (!channel.Enabled)
        {
            Log(notification, DeliveryOutcome.Disabled, "channel is disabled");
            return Task.CompletedTask;
        }
        var now = time.GetUtcNow();
        if (_settings.RateLimit > TimeSpan.Zero && (_held.Count > 0 || now - _lastSentAt < _settings.RateLimit))
        {
            // Held back, never dropped: released one per rate-limit interval.
            _held.Enqueue(notification);
            MonitoringMetrics.Notifications.WithLabels(ChannelId, "held").Inc();
            ScheduleRelease(now);
            return Task.CompletedTask;
        }
        return DeliverAsync(notification, now);
    }

    public Task<DeliveryRecord[]> GetDeliveriesAsync(int limit) =>
        Task.FromResult(_deliveries.Take(Math.Clamp(limit, 1, DeliveryLogSize)).ToArray());

    private async Task DeliverAsync(Notification notification, DateTimeOffset now)
    {
        _lastSentAt = now;
        var started = Stopwatch.GetTimestamp();
        var attempt = await _prepared!.SendAsync(notification, CancellationToken.None);
        MonitoringMetrics.NotificationLatency.WithLabels(state.State.Channel?.Type ?? "unknown").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        Log(notification, attempt.Delivered ? DeliveryOutcome.Delivered : DeliveryOutcome.Failed, attempt.Error);
    }

    private void ScheduleRelease(DateTimeOffset now)
    {
        var due = (_lastSentAt ?? now) + _settings.RateLimit - now;
        _releaseTimer ??= this.RegisterGrainTimer(ReleaseAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = true });
        _releaseTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_held.Count == 0 || _prepared is null)
        {
            return;
        }
        if (now - _lastSentAt < _settings.RateLimit)
        {
            ScheduleRelease(now);
            return;
        }
        var next = _held.Dequeue();
        if (_held.Count > 0)
        {
            _lastSentAt = now;
            ScheduleRelease(now);
        }
        await DeliverAsync(next, now);
    }

    private void Log(Notification notification, DeliveryOutcome outcome, string? error)
    {
        _deliveries.AddFirst(new DeliveryRecord(notification.IdempotencyKey, notification.AlertId, notification.Kind, outcome, time.GetUtcNow(), error));
        if (_deliveries.Count > DeliveryLogSize)
        {
            _deliveries.RemoveLast();
        }
        MonitoringMetrics.Notifications.WithLabels(ChannelId, outcome.ToString().ToLowerInvariant()).Inc();
        if (outcome == DeliveryOutcome.Failed)
        {
            logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId} failed: {Error}", notification.IdempotencyKey, ChannelId, error);
        }
    }

    private async Task<WriteResult> SaveAsync(NotificationChannel channel, DateTimeOffset createdAt)
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
        state.State.Channel = channel with { CreatedAt = state.State.Channel is null ? now : createdAt, UpdatedAt = now };
        await state.WriteStateAsync();
        Prepare();
        await Index.UpsertAsync(new ChannelEntry(View(state.State.Channel)));
        logger.LogInformation("Channel {ChannelId} of type {ChannelType} saved", ChannelId, channel.Type);
        return WriteResult.Ok;
    }

    private void Prepare()
    {
        if (state.State.Channel is not { } channel || senders.Find(channel.Type) is not { } sender)
        {
            _prepared = null;
            return;
        }
        using var document = JsonDocument.Parse(channel.Config);
        _prepared = sender.Prepare(channel.Id, document.RootElement);
        _settings = CommonChannelSettings.Read(document.RootElement);
    }

    private ChannelView View(NotificationChannel channel)
    {
        using var document = JsonDocument.Parse(channel.Config);
        var redacted = senders.Find(channel.Type)?.Redact(document.RootElement) ?? "{}";
        return new ChannelView(channel.Id, channel.Type, channel.Enabled, redacted, channel.CreatedAt, channel.UpdatedAt);
    }

    private IIndexGrain<ChannelEntry> Index => GrainFactory.GetGrain<IIndexGrain<ChannelEntry>>(IndexShards.KeyFor(ChannelEntry.Kind, ChannelId));
}
