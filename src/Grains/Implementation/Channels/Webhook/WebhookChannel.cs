using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Common;

namespace Monitoring.Channels.Webhook;

/// <summary>Config of a webhook channel. Header values may hold credentials, so they are write-only.</summary>
public sealed record WebhookConfig(Uri Url, HttpMethod Method, Dictionary<string, string> Headers, TimeSpan Timeout);

/// <summary>Posts the seed's JSON payload to a URL.</summary>
public sealed class WebhookSender(IHttpClientFactory httpClients) : IChannelSender
{
    public const string HttpClientName = "webhook";
    public const string Redacted = "<redacted>";
    public string Type => "webhook";

    public IReadOnlyList<FieldError> Validate(JsonElement config)
    {
        var errors = new List<FieldError>();
        TryRead(config, errors);
        CommonChannelSettings.Read(config, errors);
        return errors;
    }

    public string Redact(JsonElement config)
    {
        var node = JsonNode.Parse(config.GetRawText())!.AsObject();
        if (node["headers"] is JsonObject headers)
        {
            foreach (var name in headers.Select(h => h.Key).ToList())
            {
                headers[name] = Redacted;
            }
        }
        return node.ToJsonString();
    }

    public IPreparedChannel Prepare(string channelId, JsonElement config)
    {
        var errors = new List<FieldError>();
        var parsed = TryRead(config, errors) ?? throw new InvalidOperationException($"channel {channelId} has an invalid webhook config");
        return new Prepared(parsed, httpClients);
    }

    private static WebhookConfig? TryRead(JsonElement config, List<FieldError> errors)
    {
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError("config", "must be an object with at least \"url\""));
            return null;
        }
        Uri? url = null;
        if (!config.TryGetProperty("url", out var urlValue) || urlValue.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError("config.url", "is required: the absolute http(s) URL to POST to"));
        }
        else if (!Uri.TryCreate(urlValue.GetString(), UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add(new FieldError("config.url", $"'{urlValue.GetString()}' is not an absolute http or https URL"));
        }

        var method = HttpMethod.Post;
        if (config.TryGetProperty("method", out var methodValue))
        {
            var text = methodValue.ValueKind == JsonValueKind.String ? methodValue.GetString()!.ToUpperInvariant() : "";
            if (text is "POST" or "PUT" or "PATCH") method = new HttpMethod(text);
            else errors.Add(new FieldError("config.method", "must be POST, PUT or PATCH"));
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (config.TryGetProperty("headers", out var headersValue))
        {
            if (headersValue.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new FieldError("config.headers", "must be an object of header names to string values"));
            }
            else
            {
                foreach (var header in headersValue.EnumerateObject())
                {
                    if (header.Value.ValueKind != JsonValueKind.String || header.Name.Length == 0 || header.Name.Any(c => c <= ' ' || c == ':' || c > '~'))
                    {
                        errors.Add(new FieldError($"config.headers.{header.Name}", "must be a valid header name with a string value"));
                    }
                    else
                    {
                        headers[header.Name] = header.Value.GetString()!;
                    }
                }
            }
        }

        var timeout = TimeSpan.FromSeconds(10);
        if (config.TryGetProperty("timeoutSeconds", out var timeoutValue))
        {
            if (timeoutValue.ValueKind != JsonValueKind.Number || !timeoutValue.TryGetDouble(out var seconds) || seconds <= 0 || seconds > 120)
            {
                errors.Add(new FieldError("config.timeoutSeconds", "must be a number of seconds, more than 0 and at most 120"));
            }
            else
            {
                timeout = TimeSpan.FromSeconds(seconds);
            }
        }

        return url is null || errors.Count > 0 ? null : new WebhookConfig(url, method, headers, timeout);
    }

    private sealed class Prepared(WebhookConfig config, IHttpClientFactory httpClients) : IPreparedChannel
    {
        public async Task<DeliveryAttempt> SendAsync(Notification notification, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(config.Timeout);
            using var request = new HttpRequestMessage(config.Method, config.Url)
            {
                // Buffered, so receivers get a Content-Length rather than a chunked body.
                Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(WebhookPayload.From(notification), WebhookPayload.JsonOptions))
                {
                    Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
                },
            };
            foreach (var (name, value) in config.Headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, value))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }
            request.Headers.TryAddWithoutValidation("Idempotency-Key", notification.IdempotencyKey);
            try
            {
                using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
                return response.IsSuccessStatusCode
                    ? DeliveryAttempt.Success
                    : DeliveryAttempt.Failure($"receiver answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return DeliveryAttempt.Failure($"no answer within {config.Timeout.TotalSeconds:0.#}s");
            }
            catch (HttpRequestException e)
            {
                return DeliveryAttempt.Failure(e.HttpRequestError == HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}");
            }
        }
    }
}
