using System.Text.Json;
using System.Text.Json.Serialization;
using Monitoring.Common;

namespace Monitoring.Channels.Slack;

/// <summary>
/// A Slack message as both incoming webhooks and chat.postMessage take it: fallback text and one attachment whose
/// colour bar shows the severity, holding Block Kit blocks. Channel and thread_ts are only for chat.postMessage.
/// </summary>
public sealed record SlackMessage(
    [property: JsonPropertyName("channel"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("attachments")] SlackAttachment[] Attachments,
    [property: JsonPropertyName("thread_ts"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ThreadTs = null)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Severity colours, the seed's email palette; resolved is green.</summary>
    public static string ColourOf(Notification n) => n.Kind == NotificationKind.Resolved ? "#28a745" : n.Severity switch
    {
        Severity.Info => "#17a2b8",
        Severity.Warning => "#ffc107",
        Severity.Critical => "#dc3545",
        _ => "#721c24",
    };

    public static SlackMessage From(OutgoingMessage message, string? channel, string? threadTs)
    {
        var n = message.Notification;
        var blocks = new SlackBlock[]
        {
            new SlackHeaderBlock(new SlackText("plain_text", Truncate(message.Rendered.Subject, 150))),
            new SlackSectionBlock(new SlackText("mrkdwn", Truncate(message.Rendered.Body, 3000)), null),
            new SlackSectionBlock(null,
            [
                new SlackText("mrkdwn", $"*Severity*\n{n.Severity.ToString().ToLowerInvariant()}"),
                new SlackText("mrkdwn", $"*Status*\n{n.Status}"),
                new SlackText("mrkdwn", $"*Server*\n{n.ServerName} (`{n.ServerId}`){(n.ServerHealth is { } health ? $", {health}" : "")}"),
                new SlackText("mrkdwn", $"*Alert ID*\n`{n.AlertId}`"),
            ]),
            new SlackContextBlock([new SlackText("mrkdwn", $"MCP Alerting · {n.Kind.ToString().ToLowerInvariant()} · key `{n.IdempotencyKey}`")]),
        };
        return new SlackMessage(channel, message.Rendered.Subject, [new SlackAttachment(ColourOf(n), message.Rendered.Subject, blocks)], threadTs);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

public sealed record SlackAttachment(
    [property: JsonPropertyName("color")] string Color,
    [property: JsonPropertyName("fallback")] string Fallback,
    [property: JsonPropertyName("blocks")] SlackBlock[] Blocks);

[JsonDerivedType(typeof(SlackHeaderBlock))]
[JsonDerivedType(typeof(SlackSectionBlock))]
[JsonDerivedType(typeof(SlackContextBlock))]
public abstract record SlackBlock([property: JsonPropertyName("type"), JsonPropertyOrder(-1)] string Type);

public sealed record SlackHeaderBlock([property: JsonPropertyName("text")] SlackText Text) : SlackBlock("header");

public sealed record SlackSectionBlock(
    [property: JsonPropertyName("text"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackText? Text,
    [property: JsonPropertyName("fields"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackText[]? Fields) : SlackBlock("section");

public sealed record SlackContextBlock([property: JsonPropertyName("elements")] SlackText[] Elements) : SlackBlock("context");

public sealed record SlackText([property: JsonPropertyName("type")] string Type, [property: JsonPropertyName("text")] string Text);

/// <summary>The part of a Web API answer we read: ok, error, and the posted message's ts.</summary>
public sealed record SlackApiResponse(
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("ts")] string? Ts);
