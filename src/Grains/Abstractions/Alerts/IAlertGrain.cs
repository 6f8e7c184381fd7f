using Monitoring.Channels;
using Monitoring.Common;

namespace Monitoring.Alerts;

/// <summary>The alert of one rule on one server, keyed "{ruleId}:{serverId}". It owns the lifecycle.</summary>
[Alias("mcp.IAlertGrain")]
public interface IAlertGrain : IGrainWithStringKey, Channels.IDeliverySink
{
    /// <summary>
    /// Applies one evaluation and answers the phase after it, so the server knows whether to keep calling, and whether
    /// the alert went to sleep and until when.
    /// </summary>
    Task<Observed> ObserveAsync(Observation observation);

    Task<AlertView?> GetAsync();

    Task<WriteResult> AcknowledgeAsync(string? by);

    Task<WriteResult> ResolveAsync(string? by);

    Task<WriteResult> SuppressAsync(TimeSpan duration, string? by);

    /// <summary>The rule or the server is gone: resolve what is open, and stop.</summary>
    Task CloseAsync(string reason);

    /// <summary>This alert's notifications, newest first, with their delivery status.</summary>
    Task<DeliveryRecord[]> GetNotificationsAsync();
}
