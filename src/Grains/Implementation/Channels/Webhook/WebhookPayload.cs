using System.Text.Json;

namespace Monitoring.Channels.Webhook;

/// <summary>The seed's webhook payload: <c>alert</c>, <c>context</c>, <c>timestamp</c>, in snake_case.</summary>
public sealed record WebhookPayload(
    WebhookAlert Alert,
    WebhookContext Context,
    DateTimeOffset Timestamp,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] WebhookIncident? Incident = null)
{
    /// <summary>Signed, expiring, single-use links that acknowledge or resolve (firing messages only).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public WebhookActions? Actions { get; init; }

    /// <summary>The person a page is for (their user id and contact method); absent from a channel's own messages.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public WebhookRecipient? Recipient { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        // Conditions hold '>' and '<'; receivers should see them as written.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static WebhookPayload From(OutgoingMessage m) => From(m.Notification, m.Rendered) with
    {
        Actions = m.Rendered.Actions is { } a ? new WebhookActions(a.Acknowledge, a.Resolve) : null,
        Recipient = m.Notification.Recipient is { } r ? new WebhookRecipient(r.User, r.ContactMethod, r.Via) : null,
    };

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
        n.At,
        n.Group is { } g
            ? new WebhookIncident(g.IncidentId, g.GroupKey, g.Route, g.Receiver, g.GroupLabels, g.CommonLabels, g.Firing, g.Resolved, g.TruncatedAlerts,
                [.. g.Alerts.Select(a => new WebhookGroupAlert(a.AlertId, a.Status, a.RuleId, a.RuleName, a.ServerId, a.ServerName,
                    a.Severity.ToString().ToLowerInvariant(), a.Message, a.StartsAt, a.EndsAt, a.Labels, a.Values)
                { Annotations = a.Annotations.Count > 0 ? a.Annotations : null, GeneratorUrl = a.GeneratorUrl })])
            : null);
}

/// <summary>Where a receiver (or the person it pages) can acknowledge or resolve: each URL opens a confirmation page.</summary>
public sealed record WebhookActions(string Acknowledge, string Resolve);

/// <summary>Whom a page is for: the user, the contact method, and the schedule that put them on call (if one did).</summary>
public sealed record WebhookRecipient(
    string User,
    string ContactMethod,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Schedule);

/// <summary>The incident a message is about: its group, counts, and its alerts (at most the receiver's maximum; the rest counted as truncated).</summary>
public sealed record WebhookIncident(
    string Id,
    string GroupKey,
    string Route,
    string Receiver,
    Dictionary<string, string> GroupLabels,
    Dictionary<string, string> CommonLabels,
    int Firing,
    int Resolved,
    int TruncatedAlerts,
    WebhookGroupAlert[] Alerts);

public sealed record WebhookGroupAlert(
    string Id,
    string Status,
    string RuleId,
    string RuleName,
    string ServerId,
    string ServerName,
    string Severity,
    string Message,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    Dictionary<string, string> Labels,
    Dictionary<string, double> Values)
{
    /// <summary>An external alert's annotations and source (absent for the product's own alerts).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Annotations { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? GeneratorUrl { get; init; }
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
