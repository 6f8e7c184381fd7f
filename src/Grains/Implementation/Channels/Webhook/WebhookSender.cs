using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Monitoring.Common;
using Monitoring.Settings;

namespace Monitoring.Channels.Webhook;

public enum WebhookFormat
{
    /// <summary>
    /// This product's own payload (config value "native"; "seed" is accepted too): alert, context, timestamp, in the
    /// shape of the original Python design (the "seed").
    /// </summary>
    Native,

    /// <summary>Alertmanager's webhook payload, version 4.</summary>
    Alertmanager,
}

/// <summary>Config of a webhook channel. Header values and the signing secret are write-only.</summary>
public sealed record WebhookConfig(Uri Url, HttpMethod Method, Dictionary<string, string> Headers, TimeSpan Timeout, WebhookFormat Format, string? SigningSecret);

/// <summary>
/// Posts JSON to a URL: the seed's payload or Alertmanager's. With a signing secret, every request carries
/// <c>X-Mcp-Alerting-Timestamp</c> (Unix seconds) and <c>X-Mcp-Alerting-Signature: sha256=HEX</c>, the HMAC-SHA256 of
/// "{timestamp}.{body}" under the secret, so receivers can check origin and refuse replays.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory httpClients, TimeProvider time, IOptions<NotificationOptions> options) : IChannelSender
{
    public const string HttpClientName = "webhook";
    public const string SignatureHeader = "X-Mcp-Alerting-Signature";
    public const string TimestampHeader = "X-Mcp-Alerting-Timestamp";
    public string Type => "webhook";
    public IReadOnlyList<string> SecretFields { get; } = ["headers", "signingSecret"];
    public IReadOnlyList<string> Fields { get; } = ["url", "method", "headers", "timeoutSeconds", "format", "signingSecret"];
    public IReadOnlyList<string> AddressFields { get; } = ["url"];

    public IReadOnlyList<FieldError> Validate(JsonElement config)
    {
        var errors = new List<FieldError>();
        Read(config, errors);
        return errors;
    }

    public IPreparedChannel Prepare(string channelId, JsonElement config) =>
        new Prepared(channelId, Read(config, []) ?? throw new InvalidOperationException($"channel {channelId} has an invalid webhook config"), this);

    public static string Sign(string secret, long timestamp, byte[] body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{timestamp}.");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    private static WebhookConfig? Read(JsonElement config, List<FieldError> errors)
    {
        var reader = new ConfigReader(config, errors);
        if (!reader.IsObject)
        {
            reader.Fail("", "must be an object with at least \"url\"");
            return null;
        }
        var url = reader.HttpUrl("url", required: true);
        var method = reader.OneOf("method", HttpMethod.Post, ("POST", HttpMethod.Post), ("PUT", HttpMethod.Put), ("PATCH", HttpMethod.Patch))!;
        var headers = reader.Headers("headers") ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var timeout = reader.Number("timeoutSeconds", 0.1, 120, "seconds") ?? 10;
        var format = reader.OneOf("format", WebhookFormat.Native, ("native", WebhookFormat.Native), ("seed", WebhookFormat.Native), ("alertmanager", WebhookFormat.Alertmanager));
        var secret = reader.String("signingSecret", maxLength: 1024);
        return url is null || errors.Count > 0 ? null : new WebhookConfig(url, method, headers, TimeSpan.FromSeconds(timeout), format, secret);
    }

    private byte[] Body(OutgoingMessage message, string channelId, WebhookFormat format) => format switch
    {
        WebhookFormat.Alertmanager => JsonSerializer.SerializeToUtf8Bytes(
            AlertmanagerPayload.From(message, channelId, options.Value.ExternalUrl), AlertmanagerPayload.JsonOptions),
        _ => JsonSerializer.SerializeToUtf8Bytes(WebhookPayload.From(message), WebhookPayload.JsonOptions),
    };

    private HttpClient Client() => httpClients.CreateClient(HttpClientName);

    private DateTimeOffset Now => time.GetUtcNow();

    private TimeProvider Time => time;

    private sealed class Prepared(string channelId, WebhookConfig config, WebhookSender sender) : IPreparedChannel
    {
        public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            var body = sender.Body(message, channelId, config.Format);
            using var request = new HttpRequestMessage(config.Method, config.Url)
            {
                // Buffered, so receivers get a Content-Length rather than a chunked body.
                Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            };
            foreach (var (name, value) in config.Headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }
            request.Headers.TryAddWithoutValidation("Idempotency-Key", message.Notification.IdempotencyKey);
            if (config.SigningSecret is { } secret)
            {
                var timestamp = sender.Now.ToUnixTimeSeconds();
                request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(secret, timestamp, body));
            }
            return await HttpDelivery.SendAsync(sender.Client(), request, config.Timeout, sender.Time, cancellationToken);
        }
    }
}
