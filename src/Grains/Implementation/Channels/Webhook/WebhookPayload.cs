using System.Text.Json;

namespace Monitoring.Channels.Webhook;

/// <summary>The seed's webhook payload: <c>alert</c>, <c>context</c>, <c>timestamp</c>, in snake_case.</summary>
public sealed record WebhookPayload(WebhookAlert Alert, WebhookContext Context, DateTimeOffset Timestamp)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        // Conditions hold '>' and '<'; receivers should see them as written.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static WebhookPayload From(OutgoingMessage m) => From(m.Notification, m.Rendered);

    private static WebhookPayload From(Notification n, Templates.RenderedMessage rendered) => new(
        new WebhookAlert(
            n.AlertId,
            n.RuleName,
            n.Severity.ToString().ToLowerInvariant(),
            n.Message,
            n.Status,
            n.CreatedAt,
            new Dictionary<string, object>
            {
                ["server_id"] = n.ServerId,
                ["rule_id"] = n.RuleId,
                ["values"] = n.Values,
            }),
        new WebhookContext(
            n.Kind.ToString().ToLowerInvariant(),
            n.Episode,
            n.IdempotencyKey,
            n.Condition,
            new WebhookServer(n.ServerId, n.ServerName, n.Labels, n.ServerHealth, n.ServerHealthReasons),
            rendered.Subject,
            rendered.Body,
            n.EscalationLevel),
        n.At);
}

public sealed record WebhookAlert(
    string Id,
    string RuleName,
    string Severity,
    string Message,
    string Status,
    DateTimeOffset CreatedAt,
    Dictionary<string, object> Metadata);

public sealed record WebhookContext(
    string Notification,
    int Episode,
    string IdempotencyKey,
    string Condition,
    WebhookServer Server,
    string Subject,
    string Body,
    int EscalationLevel);

public sealed record WebhookServer(
    string Id,
    string Name,
    Dictionary<string, string> Labels,
    string? Health,
    string[] HealthReasons);
