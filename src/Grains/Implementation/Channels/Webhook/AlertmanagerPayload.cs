using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Monitoring.Channels.Webhook;

/// <summary>
/// Alertmanager's webhook payload, version 4, so receivers written for Alertmanager take our notifications as they are.
/// One notification is one group of one alert: groupLabels are the alert's name and server.
/// </summary>
public sealed record AlertmanagerPayload(
    string Version,
    string GroupKey,
    int TruncatedAlerts,
    string Status,
    string Receiver,
    SortedDictionary<string, string> GroupLabels,
    SortedDictionary<string, string> CommonLabels,
    SortedDictionary<string, string> CommonAnnotations,
    [property: JsonPropertyName("externalURL")] string ExternalUrl,
    AlertmanagerAlert[] Alerts)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Alertmanager's zero time, which it sends as endsAt of an alert still firing.</summary>
    public static readonly DateTimeOffset ZeroTime = new(1, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static AlertmanagerPayload From(OutgoingMessage message, string receiver, string externalUrl)
    {
        var n = message.Notification;
        if (n.Group is { } group) return FromGroup(message, group, receiver, externalUrl);
        var status = n.Kind == NotificationKind.Resolved ? "resolved" : "firing";
        var labels = Labels(n);
        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = message.Rendered.Subject,
            ["description"] = message.Rendered.Body,
            ["message"] = n.Message,
            ["condition"] = n.Condition,
        };
        var groupLabels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = labels["alertname"],
            ["server_id"] = n.ServerId,
        };
        var alert = new AlertmanagerAlert(
            status, labels, annotations, n.CreatedAt, status == "resolved" ? n.At : ZeroTime,
            $"{externalUrl.TrimEnd('/')}/api/alerts/{Uri.EscapeDataString(n.AlertId)}", Fingerprint(labels));
        return new AlertmanagerPayload(
            "4", $"{{}}:{{alertname=\"{Escape(labels["alertname"])}\", server_id=\"{Escape(n.ServerId)}\"}}", 0, status, receiver,
            groupLabels, labels, annotations, externalUrl, [alert]);
    }

    /// <summary>An incident: every alert it lists, its group key and labels, and how many alerts did not fit.</summary>
    private static AlertmanagerPayload FromGroup(OutgoingMessage message, NotificationGroup group, string receiver, string externalUrl)
    {
        var n = message.Notification;
        var status = group.Firing == 0 ? "resolved" : "firing";
        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = message.Rendered.Subject,
            ["description"] = message.Rendered.Body,
        };
        var alerts = group.Alerts.Select(a =>
        {
            var labels = new SortedDictionary<string, string>(a.Labels, StringComparer.Ordinal);
            // An external alert keeps its own annotations, generator URL and fingerprint, as Alertmanager would send them.
            var own = a.Annotations.Count > 0
                ? new SortedDictionary<string, string>(a.Annotations, StringComparer.Ordinal)
                : new SortedDictionary<string, string>(StringComparer.Ordinal) { ["message"] = a.Message };
            var external = External.ExternalAlerts.IsAlertId(a.AlertId);
            return new AlertmanagerAlert(a.Status, labels, own, a.StartsAt, a.Status == "resolved" ? a.EndsAt ?? n.At : ZeroTime,
                a.GeneratorUrl ?? $"{externalUrl.TrimEnd('/')}/api/alerts/{Uri.EscapeDataString(a.AlertId)}",
                external ? External.ExternalAlerts.FingerprintOf(a.AlertId) : Fingerprint(labels));
        }).ToArray();
        return new AlertmanagerPayload("4", group.GroupKey, group.TruncatedAlerts, status, receiver,
            new SortedDictionary<string, string>(group.GroupLabels, StringComparer.Ordinal),
            new SortedDictionary<string, string>(group.CommonLabels, StringComparer.Ordinal), annotations, externalUrl, alerts);
    }

    public static SortedDictionary<string, string> Labels(Notification n) =>
        Silences.AlertLabels.Of(n.AlertId, n.RuleId, n.RuleName, n.ServerId, n.Severity, n.Labels);

    private static string Fingerprint(SortedDictionary<string, string> labels)
    {
        var text = string.Join("\xff", labels.Select(l => $"{l.Key}\xff{l.Value}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"");
}

public sealed record AlertmanagerAlert(
    string Status,
    SortedDictionary<string, string> Labels,
    SortedDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    [property: JsonPropertyName("generatorURL")] string GeneratorUrl,
    string Fingerprint);
