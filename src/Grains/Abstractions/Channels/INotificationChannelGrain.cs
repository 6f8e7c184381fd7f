using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>One notification channel: its config, its rate limit and its delivery log.</summary>
public interface INotificationChannelGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(NotificationChannel channel);

    Task<WriteResult> UpdateAsync(NotificationChannel channel);

    Task<WriteResult> DeleteAsync();

    Task<ChannelView?> GetAsync();

    [AlwaysInterleave]
    Task<bool> ExistsAsync();

    /// <summary>Queues a notification. The alert does not wait on the receiver; the outcome lands in the delivery log.</summary>
    [OneWay]
    Task NotifyAsync(Notification notification);

    Task<DeliveryRecord[]> GetDeliveriesAsync(int limit);
}
