using System.Text.Json;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>
/// One kind of channel (webhook now; email and Slack drop in beside it). It validates and redacts its own
/// config, and prepares a ready-to-send delivery from it.
/// </summary>
public interface IChannelSender
{
    string Type { get; }

    /// <summary>Problems with the config, with paths under "config".</summary>
    IReadOnlyList<FieldError> Validate(JsonElement config);

    /// <summary>The config as users may see it: every secret replaced.</summary>
    string Redact(JsonElement config);

    IPreparedChannel Prepare(string channelId, JsonElement config);
}

public interface IPreparedChannel
{
    Task<DeliveryAttempt> SendAsync(Notification notification, CancellationToken cancellationToken);
}

public sealed record DeliveryAttempt(bool Delivered, string? Error)
{
    public static readonly DeliveryAttempt Success = new(true, null);
    public static DeliveryAttempt Failure(string error) => new(false, error);
}

/// <summary>Settings every channel type shares, read from the same config object.</summary>
public sealed record CommonChannelSettings(TimeSpan RateLimit)
{
    public const string RateLimitField = "rateLimitMinutes";

    public static CommonChannelSettings Read(JsonElement config, List<FieldError>? errors = null)
    {
        var rateLimit = TimeSpan.Zero;
        if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty(RateLimitField, out var value))
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var minutes) || minutes < 0 || minutes > 1440)
            {
                errors?.Add(new FieldError($"config.{RateLimitField}", "must be a number of minutes from 0 to 1440"));
            }
            else
            {
                rateLimit = TimeSpan.FromMinutes(minutes);
            }
        }
        return new CommonChannelSettings(rateLimit);
    }
}
