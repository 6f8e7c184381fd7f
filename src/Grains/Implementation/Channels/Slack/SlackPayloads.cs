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

    /// <summary>The action ids of a firing message's buttons, as the interactivity endpoint reads them back.</summary>
    public const string AcknowledgeAction = SlackActionIds.Acknowledge;
    public const string ResolveAction = SlackActionIds.Resolve;
    public const string SilenceAction = SlackActionIds.Silence;

    /// <summary>
    /// The message; with <paramref name="interactiveChannelId"/> (a bot-token channel with a signing secret) a firing,
    /// repeat or escalation message also carries Acknowledge, Resolve and Silence 1h buttons whose value names the
    /// channel (whose secret verifies the click) and the incident or alert.
    /// </summary>
    public static SlackMessage From(OutgoingMessage message, string? channel, string? threadTs, string? interactiveChannelId = null)
    {
        var n = message.Notification;
        var buttons = interactiveChannelId is not null && n.Kind is NotificationKind.Firing or NotificationKind.Repeat or NotificationKind.Escalation;
        var value = $"{interactiveChannelId}|{n.AlertId}";
        var blocks = new List<SlackBlock>
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
        if (buttons)
        {
            blocks.Add(new SlackActionsBlock("mcp_actions",
            [
                new SlackButton(AcknowledgeAction, new SlackText("plain_text", "Acknowledge"), value, "primary"),
                new SlackButton(ResolveAction, new SlackText("plain_text", "Resolve"), value, null),
                new SlackButton(SilenceAction, new SlackText("plain_text", "Silence 1h"), value, null),
            ]));
        }
        return new SlackMessage(channel, message.Rendered.Subject, [new SlackAttachment(ColourOf(n), message.Rendered.Subject, [.. blocks])], threadTs);
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
[JsonDerivedType(typeof(SlackActionsBlock))]
public abstract record SlackBlock([property: JsonPropertyName("type"), JsonPropertyOrder(-1)] string Type);

public sealed record SlackHeaderBlock([property: JsonPropertyName("text")] SlackText Text) : SlackBlock("header");

public sealed record SlackSectionBlock(
    [property: JsonPropertyName("text"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackText? Text,
    [property: JsonPropertyName("fields"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackText[]? Fields) : SlackBlock("section");

public sealed record SlackContextBlock([property: JsonPropertyName("elements")] SlackText[] Elements) : SlackBlock("context");

public sealed record SlackActionsBlock(
    [property: JsonPropertyName("block_id")] string BlockId,
    [property: JsonPropertyName("elements")] SlackButton[] Elements) : SlackBlock("actions");

public sealed record SlackButton(
    [property: JsonPropertyName("action_id")] string ActionId,
    [property: JsonPropertyName("text")] SlackText Text,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("style"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Style)
{
    [JsonPropertyName("type"), JsonPropertyOrder(-1)] public string Type => "button";
}

/// <summary>chat.update's body: the channel and ts of the message to replace, and what it now says.</summary>
public sealed record SlackUpdate(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("ts")] string Ts,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("blocks")] SlackBlock[] Blocks);

public sealed record SlackText([property: JsonPropertyName("type")] string Type, [property: JsonPropertyName("text")] string Text);

/// <summary>The part of a Web API answer we read: ok, error, and the posted message's ts.</summary>
public sealed record SlackApiResponse(
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("ts")] string? Ts);
