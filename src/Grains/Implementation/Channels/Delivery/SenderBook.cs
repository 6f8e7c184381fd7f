using Monitoring.Alerts;

namespace Monitoring.Channels.Delivery;

/// <summary>What a grain that sends notifications stores of them: an alert's state (a rule that pages its own channels) and an incident's alike.</summary>
public interface ISenderState
{
    /// <summary>Messages recorded and not yet taken by their channel; handed over again until they are.</summary>
    List<HandOff> Outbox { get; }

    /// <summary>The messages and their delivery status, newest first, the last <see cref="SenderBook.MaxDeliveries"/>.</summary>
    List<DeliveryRecord> Deliveries { get; }

    /// <summary>People's later pages handed to channels and held there until due: cancelled when the page is answered.</summary>
    List<PendingPage> FollowUps { get; }

    /// <summary>Cancellations their channels have not yet confirmed, sent again with each hand-off.</summary>
    List<PendingCancel> Cancelling { get; }

    DateTimeOffset? HandOffRetryAt { get; set; }
}

/// <summary>
/// A sender's bookkeeping, written once for alerts and incidents: a message is recorded in the outbox with a pending
/// delivery record (and a person's later page as a follow-up), stored by the grain, then handed to its channel
/// (<see cref="ChannelHandOff"/>); the channel's reports update the records; an acknowledgement or the end of the
/// episode cancels the follow-ups not yet due.
/// </summary>
public static class SenderBook
{
    public const int MaxDeliveries = 100;

    /// <summary>Records a message for its channel, to be handed over once the state that holds it is stored.</summary>
    public static void Record(ISenderState s, string channelId, Notification notification, string senderId, DateTimeOffset now)
    {
        s.Outbox.Add(new HandOff(channelId, notification));
        Track(s, new DeliveryRecord(notification.IdempotencyKey, senderId, channelId, notification.Kind, DeliveryState.Pending, 0, now, now, null));
        if (notification.NotBefore is { } at) s.FollowUps.Add(new PendingPage(channelId, notification.ThreadKey, notification.IdempotencyKey, at));
    }

    /// <summary>Keeps a delivery record, newest first, dropping the oldest past <see cref="MaxDeliveries"/>.</summary>
    public static void Track(ISenderState s, DeliveryRecord record)
    {
        s.Deliveries.Insert(0, record);
        if (s.Deliveries.Count > MaxDeliveries) s.Deliveries.RemoveRange(MaxDeliveries, s.Deliveries.Count - MaxDeliveries);
    }

    /// <summary>
    /// Takes a channel's report of a delivery; answers whether the record changed. Reports are one-way and may arrive
    /// out of order: a final state is never replaced by an earlier one, and a record aged out of the list is not brought back.
    /// </summary>
    public static bool TakeReport(ISenderState s, DeliveryRecord record)
    {
        var index = s.Deliveries.FindIndex(d => d.IdempotencyKey == record.IdempotencyKey);
        if (index < 0) return false;
        var known = s.Deliveries[index];
        if (known.IsFinal && !record.IsFinal || record.UpdatedAt < known.UpdatedAt) return false;
        s.Deliveries[index] = record;
        return true;
    }

    /// <summary>Cancels people's later pages not yet due (the page was answered, or the episode is over); answers how many.</summary>
    public static int CancelFollowUps(ISenderState s, DateTimeOffset now, string reason)
    {
        var waiting = s.FollowUps.Where(f => f.At > now).ToArray();
        s.FollowUps.Clear();
        s.Cancelling.AddRange(waiting.Select(f => new PendingCancel(f, reason))); // handed over with the outbox, until each channel confirms
        return waiting.Length;
    }

    /// <summary>
    /// Hands the outbox and the cancellations to their channels, and sets when to try again what was not taken; answers
    /// whether a delivery record changed (a message for a channel that does not exist is marked failed).
    /// </summary>
    public static async Task<bool> HandOffAsync(ChannelRoutes routes, ISenderState s, DateTimeOffset now, ILogger logger, string owner)
    {
        var failed = s.Deliveries.Count(d => d.State == DeliveryState.Failed);
        s.HandOffRetryAt = await ChannelHandOff.HandOffAsync(routes, s.Outbox, s.Cancelling, s.Deliveries, now, logger, owner);
        return s.Deliveries.Count(d => d.State == DeliveryState.Failed) != failed;
    }

    /// <summary>Whether anything waits to be handed over (a message or a cancellation).</summary>
    public static bool HasWork(ISenderState s) => s.Outbox.Count > 0 || s.Cancelling.Count > 0;
}
