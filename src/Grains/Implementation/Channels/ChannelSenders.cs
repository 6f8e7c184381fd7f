using System.Text.Json;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>The channel types this silo can deliver to, by type name.</summary>
public sealed class ChannelSenders(IEnumerable<IChannelSender> senders)
{
    private readonly Dictionary<string, IChannelSender> _byType = senders.ToDictionary(s => s.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => _byType.Keys;

    public IChannelSender? Find(string type) => _byType.GetValueOrDefault(type);

    /// <summary>Every problem with a channel definition, or none.</summary>
    public FieldError[] Validate(NotificationChannel channel)
    {
        if (Find(channel.Type) is not { } sender)
        {
            return [new FieldError("type", $"unknown channel type '{channel.Type}'; expected one of: {string.Join(", ", Types.Order())}")];
        }
        try
        {
            using var document = JsonDocument.Parse(channel.Config);
            return [.. sender.Validate(document.RootElement)];
        }
        catch (JsonException)
        {
            return [new FieldError("config", "is not valid JSON")];
        }
    }
}
