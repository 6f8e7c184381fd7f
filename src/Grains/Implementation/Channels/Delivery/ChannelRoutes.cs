using System.Collections.Concurrent;
using Monitoring.Replication;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// This silo's copy of each channel's route (<see cref="ChannelRoute"/>: the stored channel and its worker count), one
/// <see cref="Replica{T}"/> a channel, so a sender hands a message straight to the delivery worker of its thread and the
/// channel grain is never on a message's way. A save or delete through the channel grain on this silo invalidates the
/// copy at once; on other silos a copy is at most <see cref="RefreshInterval"/> old. What a copy a moment behind can
/// cause is bounded: a worker keeps the newer config it was given, refuses a deleted channel's messages
/// (<see cref="IChannelDeliveryGrain.StopAsync"/>), and a channel is asked about again before a message is refused for it.
/// </summary>
public sealed class ChannelRoutes(IGrainFactory grains)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    /// <summary>Channel ids come from stored configuration (rules, receivers, contact methods): few, so never trimmed.</summary>
    private readonly ConcurrentDictionary<string, Replica<ChannelRoute>> _routes = new(StringComparer.Ordinal);

    /// <summary>
    /// Records the message with the worker of its thread; answers what the worker did with it. "Unknown channel", from
    /// the copy or from a worker of a deleted channel, is asked about once more before it is the answer: the copy may
    /// be a moment behind a channel made (or made again) meanwhile.
    /// </summary>
    public async Task<EnqueueOutcome> EnqueueAsync(string channelId, Notification notification)
    {
        var route = await GetAsync(channelId, fresh: false);
        var outcome = await SendAsync(channelId, route, notification);
        if (outcome != EnqueueOutcome.UnknownChannel) return outcome;
        var now = await GetAsync(channelId, fresh: true);
        return now.Version == route.Version ? outcome : await SendAsync(channelId, now, notification);
    }

    private Task<EnqueueOutcome> SendAsync(string channelId, ChannelRoute route, Notification notification) =>
        route.Stored is not { } stored ? Task.FromResult(EnqueueOutcome.UnknownChannel)
        : Worker(channelId, ChannelDeliveries.ShardOf(notification.ThreadKey, route.Workers)).EnqueueAsync(stored, notification);

    /// <summary>Tells the workers holding these later pages (all of one channel) to drop them.</summary>
    public async Task CancelAsync(string channelId, PendingPage[] pages, string reason)
    {
        if (await GetAsync(channelId, fresh: false) is not { Stored: not null } route) return; // no channel, nothing held
        await Task.WhenAll(pages.GroupBy(p => ChannelDeliveries.ShardOf(p.Thread, route.Workers))
            .Select(g => Worker(channelId, g.Key).CancelAsync([.. g.Select(p => p.Key)], reason)));
    }

    /// <summary>A save or delete on this silo: the next message waits for the channel as it is now.</summary>
    public void Invalidate(string channelId)
    {
        if (_routes.TryGetValue(channelId, out var replica)) replica.Invalidate();
    }

    /// <summary>The route as copied, or (<paramref name="fresh"/>) as the channel grain answers after this call.</summary>
    private Task<ChannelRoute> GetAsync(string channelId, bool fresh)
    {
        if (!_routes.TryGetValue(channelId, out var replica))
        {
            replica = _routes.GetOrAdd(channelId, new Replica<ChannelRoute>(ChannelRoute.Unknown, r => r.Version,
                known => Settings.GrainReferences.Of(grains).Get<INotificationChannelGrain>(channelId).GetRouteIfChangedAsync(known), TimeProvider.System, RefreshInterval));
        }
        if (fresh) replica.Invalidate(); // an ask that begins after this one, not one already under way
        return replica.GetAsync();
    }

    private IChannelDeliveryGrain Worker(string channelId, int shard) =>
        Settings.GrainReferences.Of(grains).Get<IChannelDeliveryGrain>(ChannelDeliveries.KeyOf(channelId, shard));
}
