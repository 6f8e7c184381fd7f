using System.Net;
using Monitoring.Common;

namespace Monitoring.Channels.Email;

/// <summary>The HTML part, in the seed's shape: a header coloured by severity, the message, the context and the server.</summary>
public static class EmailHtml
{
    public static string ColourOf(Notification n) => n.Kind == NotificationKind.Resolved ? "#28a745" : n.Severity switch
    {
        Severity.Info => "#17a2b8",
        Severity.Warning => "#ffc107",
        Severity.Critical => "#dc3545",
        _ => "#721c24",
    };

    public static string Render(OutgoingMessage message)
    {
        var n = message.Notification;
        static string E(string text) => WebUtility.HtmlEncode(text);
        var values = string.Concat(n.Values.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => $"<tr><td>{E(v.Key)}</td><td>{v.Value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}</td></tr>"));
        var labels = string.Concat(n.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => $"<tr><td>{E(l.Key)}</td><td>{E(l.Value)}</td></tr>"));
        // An incident lists its alerts in a table, one row each.
        var alerts = n.Group is not { } group ? "" : $"""
            <h3>Alerts ({group.Firing} firing, {group.Resolved} resolved{(group.TruncatedAlerts > 0 ? $", {group.TruncatedAlerts} not listed" : "")})</h3>
            <table class="context"><tr><th>status</th><th>server</th><th>alert</th><th>since</th><th>values</th></tr>{string.Concat(group.Alerts.Select(a =>
                $"<tr><td>{E(a.Status)}</td><td>{E(a.ServerName)} ({E(a.ServerId)})</td><td>{E(a.RuleName)}</td><td>{a.StartsAt:u}</td><td>{E(string.Join(", ", a.Values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}")))}</td></tr>"))}</table>
            """;
        // Links, not forms: each opens a confirmation page, so a mail scanner that follows links acts on nothing.
        var actions = message.Rendered.Actions is not { } links ? "" : $"""
            <p class="actions"><a href="{E(links.Acknowledge)}" style="display:inline-block;background:#1f5fbf;color:#fff;padding:10px 16px;border-radius:4px;text-decoration:none">Acknowledge</a>
              <a href="{E(links.Resolve)}" style="display:inline-block;background:#fff;color:#1f5fbf;border:1px solid #1f5fbf;padding:9px 15px;border-radius:4px;text-decoration:none;margin-left:8px">Resolve</a></p>
            """;
        return $"""
            <!DOCTYPE html>
            <html>
            <head><meta charset="utf-8"><style>
              body {"{"} font-family: Arial, sans-serif; margin: 20px; {"}"}
              .alert-header {"{"} background-color: {ColourOf(n)}; color: white; padding: 15px; border-radius: 5px; {"}"}
              .context {"{"} background-color: #f8f9fa; padding: 15px; border-radius: 5px; font-family: monospace; {"}"}
              .footer {"{"} margin-top: 30px; font-size: 12px; color: #6c757d; {"}"}
            </style></head>
            <body>
              <div class="alert-header"><h2>{E(message.Rendered.Subject)}</h2>
                <p><strong>{E(n.RuleName)}</strong> - {n.Severity.ToString().ToUpperInvariant()} - {E(n.Status)}</p></div>
              {actions}
              <div class="alert-content">
                <pre style="white-space: pre-wrap">{message.Rendered.HtmlBody}</pre>
                {alerts}
                <h3>Context</h3>
                <table class="context"><tr><td>alert</td><td>{E(n.AlertId)}</td></tr><tr><td>condition</td><td>{E(n.Condition)}</td></tr>{values}</table>
                <h3>Server</h3>
                <table class="context"><tr><td>id</td><td>{E(n.ServerId)}</td></tr><tr><td>name</td><td>{E(n.ServerName)}</td></tr>{labels}</table>
              </div>
              <div class="footer"><p>Sent by MCP Alerting. Idempotency key {E(n.IdempotencyKey)}.</p></div>
            </body>
            </html>
            """;
    }
}
