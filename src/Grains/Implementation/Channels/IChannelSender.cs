using System.Text.Json;
using Monitoring.Channels.Templates;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>
/// One kind of channel: webhook, Slack or email. It validates its own config, names the fields that hold secrets,
/// and prepares a ready-to-send delivery from the config.
/// </summary>
public interface IChannelSender
{
    string Type { get; }

    /// <summary>Top-level config fields that hold secrets: write-only through the API, redacted in every view.</summary>
    IReadOnlyList<string> SecretFields { get; }

    /// <summary>The type's own top-level config fields; with the shared ones (<see cref="ChannelSettings.Fields"/>) every other is refused.</summary>
    IReadOnlyList<string> Fields { get; }

    /// <summary>Fields naming a URL or host the channel connects to: a literal address the outbound policy refuses is refused when written.</summary>
    IReadOnlyList<string> AddressFields { get; }

    /// <summary>Problems with the type's own fields, with paths under "config".</summary>
    IReadOnlyList<FieldError> Validate(JsonElement config);

    IPreparedChannel Prepare(string channelId, JsonElement config);
}

public interface IPreparedChannel
{
    /// <summary>One attempt. Never throws for a receiver's failure: it answers what went wrong and whether to retry.</summary>
    Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken);
}

/// <summary>What a channel sends for one attempt: the notification, its rendered text, and the thread it belongs to.</summary>
public sealed record OutgoingMessage(Notification Notification, RenderedMessage Rendered, string ChannelId, string? ThreadRef, int Attempt);

/// <summary>
/// The outcome of one attempt. <see cref="Retryable"/> is false for errors a retry cannot fix (a 4xx, a refused login);
/// <see cref="RetryAfter"/> is the receiver's own wait (a 429's Retry-After); <see cref="ThreadRef"/> identifies the
/// sent message for later replies (Slack's ts).
/// </summary>
public sealed record SendResult(bool Delivered, string? Error, bool Retryable = true, TimeSpan? RetryAfter = null, string? ThreadRef = null)
{
    public static SendResult Success(string? threadRef = null) => new(true, null, ThreadRef: threadRef);

    public static SendResult Failure(string error, bool retryable = true, TimeSpan? retryAfter = null) => new(false, error, retryable, retryAfter);

    /// <summary>Not sent, and not this activation's to finish: another activation of its worker holds the row (<see cref="Delivery.OutboxClaims"/>).</summary>
    public static readonly SendResult Yielded = new(false, "another activation of its delivery worker holds it", Retryable: false);

    /// <summary>The usual reading of an HTTP status: 408, 429 and 5xx are worth another try, other 4xx are not.</summary>
    public static SendResult FromStatus(System.Net.HttpStatusCode status, string? reason, TimeSpan? retryAfter)
    {
        var code = (int)status;
        return Failure($"receiver answered {code} {reason}".TrimEnd(), code is 408 or 429 or >= 500, retryAfter);
    }

    public static TimeSpan? RetryAfterOf(HttpResponseMessage response, DateTimeOffset now) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };
}
