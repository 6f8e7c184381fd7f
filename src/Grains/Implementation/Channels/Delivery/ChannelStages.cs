using System.Text.Json;
using Monitoring.Channels.Templates;
using Monitoring.History;

namespace Monitoring.Channels.Delivery;

/// <summary>A channel's notify stages built from its config: settings (rate limit, templates, retry), rate gate and sender.</summary>
public sealed record PreparedStages(ChannelSettings Settings, RateGate Gate, DeliveryAttempts Attempts);

/// <summary>Builds a channel's stages from its config, for the channel grain (test messages) and its delivery workers alike.</summary>
public sealed class ChannelStages(
    ChannelSenders senders, MessageRenderer renderer, ClusterDeliveryLimiter clusterLimit, IAlertHistory history, IOutboxStore outbox,
    IClusterMembershipService membership, ILocalSiloDetails silo, TimeProvider time, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Monitoring.Channels.Delivery");

    /// <summary>A new worker activation's claims on its channel's outbox rows.</summary>
    internal ClaimStage Claims(string channelId) => new(outbox, membership, time, channelId, silo.SiloAddress.ToParsableString());

    /// <summary>The stages for a channel's plain config, or null when no sender knows its type.</summary>
    public PreparedStages? Build(NotificationChannel channel)
    {
        if (senders.Find(channel.Type) is not { } sender)
        {
            return null;
        }
        using var document = JsonDocument.Parse(channel.Config);
        var settings = ChannelSettings.Read(document.RootElement);
        var bucket = settings.RateLimit is { } rate ? new TokenBucket(rate.PerSecond, rate.Burst) : null;
        return new PreparedStages(settings, new RateGate(bucket, clusterLimit),
            new DeliveryAttempts(channel.Id, channel.Type, sender.Prepare(channel.Id, document.RootElement), settings, renderer, history, time, _logger));
    }
}
