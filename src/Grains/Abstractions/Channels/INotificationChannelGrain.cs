using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>One notification channel: its config, its durable outbox, its rate limit and its delivery log.</summary>
[Alias("mcp.INotificationChannelGrain")]
public interface INotificationChannelGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(NotificationChannel channel);

    /// <summary>Replaces the channel. A secret left out of the new config, or sent back as "&lt;redacted&gt;", keeps its stored value.</summary>
    Task<WriteResult> UpdateAsync(NotificationChannel channel);

    Task<WriteResult> DeleteAsync();

    Task<ChannelView?> GetAsync();

    [AlwaysInterleave]
    Task<bool> ExistsAsync();

    /// <summary>
    /// Records the notification durably, then answers; delivery (with retries) goes on in the background and
    /// its outcome is reported to the alert. A key the channel already holds is not recorded twice.
    /// </summary>
    Task<EnqueueOutcome> EnqueueAsync(Notification notification);

    /// <summary>Newest first: what is still pending or held, then what finished.</summary>
    Task<DeliveryRecord[]> GetDeliveriesAsync(int limit);

    /// <summary>Sends a test message now, once, without the outbox or rate limit, and answers the result.</summary>
    Task<TestDelivery> SendTestAsync();
}
