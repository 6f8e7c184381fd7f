using Monitoring.Alerts;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// Gives the notifications a grain recorded (an alert's or an incident's outbox) to their channels. What a channel
/// took leaves the outbox; what it could not take stays for the next try; a message for a channel that does not exist
/// is marked failed in the grain's delivery list.
/// </summary>
public static class ChannelHandOff
{
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(30);

    /// <summary>Hands the outbox over; answers when to try again (null when nothing is left).</summary>
    public static async Task<DateTimeOffset?> HandOffAsync(
        IGrainFactory grains, List<HandOff> outbox, List<DeliveryRecord> deliveries, DateTimeOffset now, ILogger logger, string owner)
    {
        if (outbox.Count == 0) return null;
        var pending = outbox.ToList();
        var outcomes = await Task.WhenAll(pending.Select(async handOff =>
        {
            try
            {
                return await Settings.GrainReferences.Of(grains).Get<INotificationChannelGrain>(handOff.ChannelId).EnqueueAsync(handOff.Notification);
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
        return outbox.Count > 0 ? now + Retry : null;
    }
}
