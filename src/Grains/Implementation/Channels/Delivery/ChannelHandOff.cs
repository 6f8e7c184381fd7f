using Monitoring.Alerts;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// Gives the notifications a grain recorded (an alert's or an incident's outbox) to their channels' delivery workers
/// (<see cref="ChannelRoutes"/>). What a worker took leaves the outbox; what it could not take stays for the next try;
/// a message for a channel that does not exist is marked failed in the grain's delivery list. Cancellations of later
/// pages go the same way: what a channel's workers did not confirm stays, and is sent again with the next try.
/// </summary>
public static class ChannelHandOff
{
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(30);

    /// <summary>Hands the outbox and the cancellations over; answers when to try again (null when nothing is left).</summary>
    public static async Task<DateTimeOffset?> HandOffAsync(
        ChannelRoutes routes, List<HandOff> outbox, List<PendingCancel> cancelling, List<DeliveryRecord> deliveries, DateTimeOffset now, ILogger logger, string owner)
    {
        await CancelAsync(routes, cancelling, logger, owner);
        if (outbox.Count == 0) return cancelling.Count > 0 ? now + Retry : null;
        var pending = outbox.ToList();
        var outcomes = await Task.WhenAll(pending.Select(async handOff =>
        {
            try
            {
                return await routes.EnqueueAsync(handOff.ChannelId, handOff.Notification);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "{Owner}: channel {ChannelId} did not take {IdempotencyKey}; will try again", owner, handOff.ChannelId, handOff.Notification.IdempotencyKey);
                return (EnqueueOutcome?)null;
            }
        }));
        for (var i = 0; i < pending.Count; i++)
        {
            if (outcomes[i] is not { } outcome) continue;
            outbox.Remove(pending[i]);
            if (outcome != EnqueueOutcome.UnknownChannel) continue;
            var key = pending[i].Notification.IdempotencyKey;
            var index = deliveries.FindIndex(d => d.IdempotencyKey == key);
            if (index >= 0) deliveries[index] = deliveries[index] with { State = DeliveryState.Failed, UpdatedAt = now, LastError = "the channel does not exist" };
            logger.LogWarning("{Owner}: notification {IdempotencyKey} is for a channel that does not exist", owner, key);
        }
        return outbox.Count > 0 || cancelling.Count > 0 ? now + Retry : null;
    }

    /// <summary>Tells each channel holding later pages to drop them; what a channel confirmed leaves the list.</summary>
    private static async Task CancelAsync(ChannelRoutes routes, List<PendingCancel> cancelling, ILogger logger, string owner)
    {
        if (cancelling.Count == 0) return;
        var batches = cancelling.GroupBy(c => (c.Page.Channel, c.Reason)).ToArray();
        var done = await Task.WhenAll(batches.Select(async batch =>
        {
            try
            {
                await routes.CancelAsync(batch.Key.Channel, [.. batch.Select(c => c.Page)], batch.Key.Reason);
                return true;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "{Owner}: channel {ChannelId} did not confirm cancelling {Count} later pages; will try again", owner, batch.Key.Channel, batch.Count());
                return false;
            }
        }));
        for (var i = 0; i < batches.Length; i++)
        {
            if (done[i]) cancelling.RemoveAll(batches[i].Contains);
        }
    }
}
