using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Common;

namespace Monitoring.Channels.Slack;

/// <summary>Config of a Slack channel: an incoming webhook, or a bot token with a channel. Both secrets are write-only.</summary>
public sealed record SlackConfig(Uri? WebhookUrl, string? Token, string? Channel, Uri ApiBaseUrl, TimeSpan Timeout)
{
    /// <summary>The Slack app's signing secret: with it, firing messages carry Acknowledge, Resolve and Silence 1h buttons.</summary>
    public string? SigningSecret { get; init; }

    public bool Interactive => Token is not null && SigningSecret is not null;
}

/// <summary>
/// Talks to Slack's HTTP APIs with typed payloads (SlackNet is not available here). With a bot token, a resolved
/// message is posted as a reply in the thread of the firing one. A 429 is retried after its Retry-After.
/// </summary>
public sealed class SlackSender(IHttpClientFactory httpClients, TimeProvider time) : IChannelSender
{
    public const string HttpClientName = "slack";
    public static readonly Uri DefaultApiBaseUrl = new("https://slack.com/api/");

    // Web API errors that a later attempt may not meet again; every other error is permanent.
    private static readonly HashSet<string> TransientErrors = ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"];

    public string Type => "slack";
    public IReadOnlyList<string> SecretFields { get; } = ["webhookUrl", "token", "signingSecret"];
    public IReadOnlyList<string> Fields { get; } = ["webhookUrl", "token", "channel", "apiBaseUrl", "timeoutSeconds", "signingSecret"];
    public IReadOnlyList<string> AddressFields { get; } = ["webhookUrl", "apiBaseUrl"];

    public IReadOnlyList<FieldError> Validate(JsonElement config)
    {
        var errors = new List<FieldError>();
        Read(config, errors);
        return errors;
    }

    public IPreparedChannel Prepare(string channelId, JsonElement config) =>
        new Prepared(channelId, Read(config, []) ?? throw new InvalidOperationException($"channel {channelId} has an invalid Slack config"), this);

    /// <summary>A channel's config as read, for interactivity (its signing secret and bot token); null when invalid.</summary>
    public static SlackConfig? ReadConfig(string config)
    {
        using var document = JsonDocument.Parse(config);
        return Read(document.RootElement, []);
    }

    /// <summary>chat.update: replaces a message the bot posted. Answers Slack's error, or null when it took it.</summary>
    public async Task<string?> UpdateAsync(SlackConfig config, string slackChannel, string ts, string text, CancellationToken cancellationToken)
    {
        if (config.Token is null) return "not a bot-token channel";
        var payload = new SlackUpdate(slackChannel, ts, text, [new SlackSectionBlock(new SlackText("mrkdwn", text.Length <= 3000 ? text : text[..2999] + "…"), null)]);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(config.ApiBaseUrl, "chat.update"))
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(payload, SlackMessage.JsonOptions))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } },
            },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", config.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.Timeout);
        try
        {
            using var response = await Client().SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode) return $"Slack answered {(int)response.StatusCode}";
            var answer = await response.Content.ReadFromJsonAsync<SlackApiResponse>(timeout.Token);
            return answer is { Ok: true } ? null : answer?.Error ?? "Slack answered without \"ok\"";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            return $"chat.update failed: {e.Message}";
        }
    }

    private static SlackConfig? Read(JsonElement config, List<FieldError> errors)
    {
        var reader = new ConfigReader(config, errors);
        var webhookUrl = reader.HttpUrl("webhookUrl");
        var token = reader.String("token", maxLength: 512);
        var channel = reader.String("channel", maxLength: 256);
        var apiBase = reader.HttpUrl("apiBaseUrl") ?? DefaultApiBaseUrl;
        var timeout = reader.Number("timeoutSeconds", 0.1, 120, "seconds") ?? 10;
        var signingSecret = reader.String("signingSecret", maxLength: 256);
        var hasWebhook = reader.Has("webhookUrl");
        var hasToken = reader.Has("token");
        if (hasWebhook == hasToken)
        {
            reader.Fail(hasWebhook ? "token" : "webhookUrl",
                "give either \"webhookUrl\" (an incoming webhook) or \"token\" (a bot token, xoxb-…) with \"channel\", not both");
        }
        if (hasToken && token is not null && !token.StartsWith("xox", StringComparison.Ordinal))
        {
            reader.Fail("token", "must be a Slack token (xoxb-…)");
        }
        if (hasToken && channel is null && !reader.Has("channel"))
        {
            reader.Fail("channel", "is required with a token: the channel to post to, e.g. \"#oncall\" or a channel id");
        }
        if (reader.Has("signingSecret") && !hasToken)
        {
            reader.Fail("signingSecret", "needs a bot token: an incoming webhook cannot receive button clicks, so its messages carry no buttons");
        }
        if (errors.Count > 0) return null;
        // A base without a trailing slash would lose its last segment when "chat.postMessage" is resolved against it.
        var baseUrl = apiBase.AbsoluteUri.EndsWith('/') ? apiBase : new Uri(apiBase.AbsoluteUri + "/");
        return new SlackConfig(webhookUrl, token, channel, baseUrl, TimeSpan.FromSeconds(timeout)) { SigningSecret = signingSecret };
    }

    private HttpClient Client() => httpClients.CreateClient(HttpClientName);

    private TimeProvider Time => time;

    private sealed class Prepared(string channelId, SlackConfig config, SlackSender sender) : IPreparedChannel
    {
        public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            // An alert's firing message starts its thread; an incident's updates are firing messages too, and go in the
            // thread its first message started (none is known yet for the first).
            var n = message.Notification;
            var threadTs = n.Kind == NotificationKind.Test || n.Kind == NotificationKind.Firing && n.Group is null ? null : message.ThreadRef;
            // A person's page is a direct message: the bot posts to the person's user id.
            var payload = SlackMessage.From(message, config.Token is null ? null : n.Recipient?.Address ?? config.Channel, config.Token is null ? null : threadTs,
                config.Interactive ? channelId : null);
            using var request = new HttpRequestMessage(HttpMethod.Post, config.WebhookUrl ?? new Uri(config.ApiBaseUrl, "chat.postMessage"))
            {
                Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(payload, SlackMessage.JsonOptions))
                {
                    Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } },
                },
            };
            if (config.Token is { } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            // An incoming webhook answers a plain "ok"; the Web API answers JSON with "ok", "error" and the message's ts.
            return await HttpDelivery.SendAsync(sender.Client(), request, config.Timeout, sender.Time, cancellationToken,
                config.Token is null ? null : async (response, token) =>
                {
                    try
                    {
                        var answer = await response.Content.ReadFromJsonAsync<SlackApiResponse>(token);
                        return answer switch
                        {
                            { Ok: true } => SendResult.Success(answer.Ts ?? message.ThreadRef),
                            { Error: { } error } => SendResult.Failure($"Slack answered {error}", TransientErrors.Contains(error)),
                            _ => SendResult.Failure("Slack answered without \"ok\""),
                        };
                    }
                    catch (JsonException)
                    {
                        return SendResult.Failure("Slack's answer was not the JSON of the Web API");
                    }
                });
        }
    }
}
