using Monitoring.Observability;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// The notify pipeline's last stage, for one delivery worker: a message's row in the outbox store says how far it got
/// and, at the end, how it ended (its key stays known for dedup), and the message's sink hears each step. The worker
/// does not know, or ask, who sent a message: the sink is named in it (<see cref="DeliverySinks"/>).
/// </summary>
internal sealed class RecordStage(IGrainFactory grains, IOutboxStore outbox, TimeProvider time, ILogger logger, string channelId)
{
    /// <summary>The entry's row becomes final and its sink hears the outcome. A row not stored stays pending: a later activation sends it again, with the same key.</summary>
    public async Task FinishAsync(OutboxEntry entry, DeliveryState final, string? error, string channelType)
    {
        entry.UpdatedAt = time.GetUtcNow();
        var record = entry.Record(channelId, final, final == DeliveryState.Delivered ? null : error);
        MonitoringMetrics.Notifications.WithLabels(channelType, final.ToString().ToLowerInvariant()).Inc();
        if (final == DeliveryState.Failed)
        {
            logger.LogWarning("Notification {IdempotencyKey} to channel {ChannelId} failed after {Attempts} attempts: {Error}",
                record.IdempotencyKey, channelId, record.Attempts, error);
        }
        try
        {
            await outbox.FinishAsync(channelId, record);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: the outcome of {IdempotencyKey} was not stored", channelId, record.IdempotencyKey);
        }
        Report(entry.Notification, record);
    }

    /// <summary>The entry's progress (an attempt, a hold): its sink hears it, and its row keeps it.</summary>
    public async Task UpdateAsync(OutboxEntry entry)
    {
        Report(entry.Notification, entry.Record(channelId));
        try
        {
            await outbox.UpdateAsync(channelId, entry);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Channel {ChannelId}: the progress of {IdempotencyKey} was not stored", channelId, entry.Notification.IdempotencyKey);
        }
    }

    private void Report(Notification notification, DeliveryRecord record) =>
        _ = DeliverySinks.Of(grains, notification).ReportDeliveryAsync(record);
}
