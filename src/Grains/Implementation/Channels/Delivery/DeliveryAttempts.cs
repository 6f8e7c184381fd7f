using System.Diagnostics;
using Monitoring.Channels.Templates;
using Monitoring.History;
using Monitoring.Observability;
using Polly;
using Polly.Retry;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// The render-and-send stage: renders a notification (the rule's templates, then the channel's, then the defaults),
/// makes one attempt through the prepared sender, and retries what a retry can fix with exponential backoff and
/// jitter (Polly) until the channel's maximum age; a receiver's Retry-After wins over the backoff. Every attempt is
/// traced, counted and appended to the history. An attempt runs off its grain's turn (it touches no grain state).
/// </summary>
public sealed class DeliveryAttempts
{
    private static readonly ResiliencePropertyKey<DateTimeOffset> RecordedAtKey = new("recorded-at");
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);
    private readonly string _channelId;
    private readonly string _channelType;
    private readonly IPreparedChannel _sender;
    private readonly MessageTemplates _templates;
    private readonly MessageRenderer _renderer;
    private readonly IAlertHistory _history;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<SendResult> _pipeline;

    public DeliveryAttempts(string channelId, string channelType, IPreparedChannel sender, ChannelSettings settings, MessageRenderer renderer,
        IAlertHistory history, TimeProvider time, ILogger logger)
    {
        (_channelId, _channelType, _sender, _templates, _renderer, _history, _time, _logger) =
            (channelId, channelType, sender, settings.Templates, renderer, history, time, logger);
        var retry = settings.Retry;
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
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter is { } after
                    ? (TimeSpan?)(after > MaxRetryAfter ? MaxRetryAfter : after)
                    : null),
            })
            .Build();
    }

    /// <summary>
    /// Attempts until delivered, failed for good, or too old. <paramref name="mayAttempt"/> is asked before each attempt
    /// (the worker's claim on the row, <see cref="OutboxClaims"/>): once it says no, nothing more is sent and the answer
    /// is <see cref="SendResult.Yielded"/>. <paramref name="afterFailedAttempt"/> sees each failed attempt.
    /// </summary>
    public async Task<SendResult> RunAsync(OutboxEntry entry, Func<string?> threadRef, Func<Task<bool>> mayAttempt, Func<Task> afterFailedAttempt)
    {
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true);
        context.Properties.Set(RecordedAtKey, entry.RecordedAt);
        try
        {
            return await _pipeline.ExecuteAsync(async _ =>
            {
                if (!await mayAttempt()) return SendResult.Yielded;
                entry.Attempts++;
                entry.UpdatedAt = _time.GetUtcNow();
                // The render and the send run on the thread pool, not on the channel grain's one thread: with 64 messages
                // on their way, their CPU (templates, JSON, HTTP) runs in parallel, and the grain, which owns the queue,
                // the order within a thread and the bookkeeping, takes the result back on its own turn.
                var (notification, attempt, reference) = (entry.Notification, entry.Attempts, threadRef());
                var result = await Task.Run(() => AttemptAsync(notification, attempt, reference));
                entry.UpdatedAt = _time.GetUtcNow();
                if (!result.Delivered)
                {
                    entry.LastError = result.Error;
                    await afterFailedAttempt();
                }
                return result;
            }, context);
        }
        catch (Exception e)
        {
            return SendResult.Failure($"delivery stopped: {e.GetType().Name}", retryable: false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One attempt at one notification; a sender that throws counts as a failed attempt.</summary>
    public async Task<SendResult> AttemptAsync(Notification notification, int attempt, string? threadRef)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = MonitoringTracing.Source.StartActivity($"notify {_channelType}", ActivityKind.Client);
        activity?.SetTag("channel.id", _channelId);
        activity?.SetTag("channel.type", _channelType);
        activity?.SetTag("notification.idempotency_key", notification.IdempotencyKey);
        activity?.SetTag("notification.attempt", attempt);
        SendResult result;
        try
        {
            var rendered = await _renderer.RenderAsync(notification, _templates);
            result = await _sender.SendAsync(new OutgoingMessage(notification, rendered, _channelId, threadRef, attempt), CancellationToken.None);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Channel {ChannelId} threw while sending {IdempotencyKey}", _channelId, notification.IdempotencyKey);
            result = SendResult.Failure($"the sender failed: {e.GetType().Name}");
        }
        MonitoringMetrics.NotificationLatency.WithLabels(_channelType).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        try
        {
            await _history.AppendDeliveryAsync(new DeliveryRow(notification.IdempotencyKey, notification.AlertId, _channelId,
                notification.Kind.ToString().ToLowerInvariant(), result.Delivered ? "delivered" : "failed", attempt, result.Error, _time.GetUtcNow()));
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Channel {ChannelId}: attempt {Attempt} of {IdempotencyKey} not written to the history", _channelId, attempt, notification.IdempotencyKey);
        }
        if (!result.Delivered)
        {
            activity?.SetStatus(ActivityStatusCode.Error, result.Error);
            MonitoringMetrics.DeliveryAttemptsFailed.WithLabels(_channelType, result.RetryAfter is null ? (result.Retryable ? "transient" : "permanent") : "rate_limited").Inc();
            _logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId}, attempt {Attempt}, failed: {Error}",
                notification.IdempotencyKey, _channelId, attempt, result.Error);
        }
        return result;
    }
}
