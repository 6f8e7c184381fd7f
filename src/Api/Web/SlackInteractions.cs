using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Common;

namespace Monitoring.Api.Web;

/// <summary>
/// The Slack app's interactivity request URL: a click on a firing message's Acknowledge, Resolve or Silence 1h button.
/// The request must carry Slack's signature over "v0:timestamp:body" made with the signing secret of the channel the
/// button names, a timestamp within 5 minutes, and a signature not seen before; then the product acts as the Slack
/// user and replaces the message (chat.update) to say who did what. Anything else is refused and changes nothing.
/// </summary>
public static class SlackInteractions
{
    public const string Path = Security.AuthMiddleware.SlackCallbackPath;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private const int MaxBody = 64 * 1024;

    public static void MapSlackInteractions(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, async (HttpContext http, IGrainFactory grains, TimeProvider time, Acting acting, Listings.IListingStore listings, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger("Monitoring.Api.Slack");
            var body = await ReadBodyAsync(http.Request);
            if (body is null) return ProblemResults.Invalid([new FieldError("body", $"is at most {MaxBody} bytes")]);
            var timestamp = http.Request.Headers["X-Slack-Request-Timestamp"].ToString();
            var signature = http.Request.Headers["X-Slack-Signature"].ToString();
            if (timestamp.Length == 0 || signature.Length == 0)
            {
                return Refuse("The request carries no Slack signature (X-Slack-Signature and X-Slack-Request-Timestamp).");
            }
            if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799
                || (time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Window)
            {
                return Refuse("The request's timestamp is more than 5 minutes from now: it is stale or replayed.");
            }
            if (Read(body) is not { } click)
            {
                return ProblemResults.Invalid([new FieldError("payload", "is not a Slack block_actions payload with one of this product's buttons")]);
            }
            var channel = grains.GetGrain<INotificationChannelGrain>(click.ChannelId);
            switch (await channel.CheckSlackRequestAsync(timestamp, signature, body))
            {
                case SlackRequestCheck.NotInteractive:
                    return Refuse($"The channel the button names is not a Slack bot-token channel with a signing secret.");
                case SlackRequestCheck.BadSignature:
                    return Refuse("The Slack signature does not match the channel's signing secret.");
                case SlackRequestCheck.Replayed:
                    return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Replayed", detail: "This exact request was already taken.");
            }
            // A person whose Slack contact is this Slack user acts as themselves; anyone else by their Slack name.
            var by = await PersonAsync(listings, click.UserId) is { } person ? $"{person} (Slack {click.UserId})" : $"{click.UserName} (Slack {click.UserId})";
            var outcome = await acting.ActAsync(click.Target, click.Action, by, click.Action == TargetAction.Silence ? TimeSpan.FromHours(1) : null);
            if (click.SlackChannel is { } slackChannel && click.MessageTs is { } ts)
            {
                var text = outcome.Succeeded
                    ? $":white_check_mark: *{Acting.Past(click.Action)}* by <@{click.UserId}> at {time.GetUtcNow():yyyy-MM-dd HH:mm} UTC — {click.Title}"
                    : $":warning: Could not {click.Action.ToString().ToLowerInvariant()}: {outcome.Message} — {click.Title}";
                if (await channel.UpdateSlackMessageAsync(slackChannel, ts, text) is { } error)
                {
                    logger.LogWarning("Slack chat.update for channel {ChannelId} failed: {Error}", click.ChannelId, error);
                }
            }
            return Results.Ok(new { text = outcome.Message });
        }).WithTags("Slack").DisableAntiforgery();
    }

    /// <summary>The user whose Slack contact method is this Slack user id, if one is.</summary>
    private static async Task<string?> PersonAsync(Listings.IListingStore listings, string slackUserId) =>
        (await Listings.ListingStoreExtensions.QueryAsync<Listings.UserEntry>(listings, [], 100_000, 0)).Items
            .FirstOrDefault(u => u.User.ContactMethods.Any(m => m.Type == OnCall.ContactType.Slack && m.Address == slackUserId))?.Id;

    private static IResult Refuse(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Not from Slack", detail: detail);

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > MaxBody) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private sealed record Click(string ChannelId, string Target, TargetAction Action, string UserId, string UserName, string? SlackChannel, string? MessageTs, string Title);

    /// <summary>The click a block_actions payload describes, or null when it is not one of ours.</summary>
    private static Click? Read(byte[] body)
    {
        try
        {
            var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
            if (!form.TryGetValue("payload", out var payload) || payload.Count != 1) return null;
            using var document = JsonDocument.Parse(payload[0]!);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "type") != "block_actions") return null;
            if (!root.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array || actions.GetArrayLength() == 0) return null;
            var first = actions[0];
            TargetAction? action = Text(first, "action_id") switch
            {
                Channels.SlackActionIds.Acknowledge => TargetAction.Acknowledge,
                Channels.SlackActionIds.Resolve => TargetAction.Resolve,
                Channels.SlackActionIds.Silence => TargetAction.Silence,
                _ => null,
            };
            var value = Text(first, "value") ?? "";
            var bar = value.IndexOf('|');
            if (action is null || bar <= 0 || bar == value.Length - 1) return null;
            var (channelId, target) = (value[..bar], value[(bar + 1)..]);
            if (!Acting.IsTarget(target) || channelId.Length > 256) return null;
            if (!root.TryGetProperty("user", out var user) || Text(user, "id") is not { Length: > 0 and <= 64 } userId) return null;
            var userName = Text(user, "username") ?? Text(user, "name") ?? userId;
            var container = root.TryGetProperty("container", out var c) ? c : default;
            var slackChannel = Text(container, "channel_id") ?? (root.TryGetProperty("channel", out var ch) ? Text(ch, "id") : null);
            var ts = Text(container, "message_ts") ?? (root.TryGetProperty("message", out var m) ? Text(m, "ts") : null);
            var title = root.TryGetProperty("message", out var message) ? Text(message, "text") ?? "" : "";
            return new Click(channelId, target, action.Value, userId, userName.Length <= 100 ? userName : userName[..100], slackChannel, ts, title);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
