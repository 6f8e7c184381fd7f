using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Monitoring.Tests.Support;

/// <summary>What Slack posts when someone clicks one of a message's buttons: the block_actions payload, signed as Slack signs it.</summary>
public static class SlackClicks
{
    /// <summary>Slack's request signature: "v0=" and the HMAC-SHA256 of "v0:timestamp:body" with the app's signing secret.</summary>
    public static string Sign(string secret, long timestamp, string body) =>
        "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"v0:{timestamp}:{body}")));

    /// <summary>The form body of a click on <paramref name="actionId"/> whose button carries <paramref name="value"/>.</summary>
    public static string Body(string userId, string userName, string slackChannel, string ts, string actionId, string value) =>
        "payload=" + Uri.EscapeDataString(JsonSerializer.Serialize(new
        {
            type = "block_actions",
            user = new { id = userId, username = userName },
            container = new { type = "message", channel_id = slackChannel, message_ts = ts },
            message = new { ts, text = "page" },
            actions = new[] { new { type = "button", action_id = actionId, block_id = "mcp_actions", value } },
        }));

    /// <summary>Posts a signed click to the product's interactivity URL, timestamped <paramref name="timestamp"/>.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, string secret, string body, long timestamp)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/interactions") { Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp.ToString());
        request.Headers.Add("X-Slack-Signature", Sign(secret, timestamp, body));
        return await http.SendAsync(request);
    }
}
