using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Console;

/// <summary>
/// Slack's buttons on a firing message: a correctly signed click acknowledges as the Slack user and chat.update says
/// so; a bad signature, a stale timestamp and a replay are refused and change nothing. Slack is a listener on loopback.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class SlackInteractivityTests(ApiFixture api)
{
    private const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string Token = "xoxb-1234-5678-interactive";

    private static string Sign(string secret, long timestamp, string body) => SlackClicks.Sign(secret, timestamp, body);

    private async Task<HttpResponseMessage> ClickAsync(string body, long timestamp, string signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/interactions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp.ToString());
        request.Headers.Add("X-Slack-Signature", signature);
        return await api.Http.SendAsync(request);
    }

    [Fact]
    public async Task A_signed_click_acknowledges_as_the_slack_user_and_updates_the_message_and_forgeries_change_nothing()
    {
        var s = new ApiScenario(api);
        var post = s.Path("api") + "/chat.postMessage";
        var update = s.Path("api") + "/chat.update";
        api.Webhooks.RespondWith(post, _ => Results.Json(new { ok = true, channel = "C024BE91L", ts = "1700000000.000100" }));
        api.Webhooks.RespondWith(update, _ => Results.Json(new { ok = true }));
        await s.ChannelAsync($"bot-{s.Id}", "slack", $$"""{"token":"{{Token}}","channel":"#oncall","apiBaseUrl":"{{s.Url("api")}}","signingSecret":"{{Secret}}"}""");
        await s.ServerAndRuleAsync($$""" "channels":["bot-{{s.Id}}"],"autoResolve":false""");

        await s.FireAsync();
        var message = (await api.Webhooks.WaitForAsync(post, 1)).Single().Body;
        var actions = message.GetProperty("attachments")[0].GetProperty("blocks").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "actions");
        var buttons = actions.GetProperty("elements").EnumerateArray().ToArray();
        Assert.Equal(["acknowledge", "resolve", "silence_1h"], buttons.Select(b => b.GetProperty("action_id").GetString()));
        Assert.Equal(["Acknowledge", "Resolve", "Silence 1h"], buttons.Select(b => b.GetProperty("text").GetProperty("text").GetString()));
        var value = buttons[0].GetProperty("value").GetString()!;
        Assert.Equal($"bot-{s.Id}|{s.AlertId}", value);

        // What Slack posts when alice clicks Acknowledge.
        var payload = JsonSerializer.Serialize(new
        {
            type = "block_actions",
            user = new { id = "U0ALICE", username = "alice" },
            container = new { type = "message", channel_id = "C024BE91L", message_ts = "1700000000.000100" },
            message = new { ts = "1700000000.000100", text = message.GetProperty("text").GetString() },
            actions = new[] { new { type = "button", action_id = "acknowledge", block_id = "mcp_actions", value } },
        });
        var body = "payload=" + Uri.EscapeDataString(payload);
        var now = api.Time.GetUtcNow().ToUnixTimeSeconds();

        using (var forged = await ClickAsync(body, now, Sign("not-the-secret", now, body)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        }
        var stale = now - 6 * 60;
        using (var old = await ClickAsync(body, stale, Sign(Secret, stale, body)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }
        using (var unsigned = await ClickAsync(body, now, ""))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }
        Assert.Equal("firing", await s.StatusAsync());
        Assert.Empty(api.Webhooks.At(update));

        var signature = Sign(Secret, now, body);
        using (var click = await ClickAsync(body, now, signature))
        {
            Assert.Equal(HttpStatusCode.OK, click.StatusCode);
        }
        var alert = await s.AlertAsync();
        Assert.Equal("acknowledged", alert.GetProperty("status").GetString());
        Assert.Equal("alice (Slack U0ALICE)", alert.GetProperty("acknowledgedBy").GetString());
        var updated = (await api.Webhooks.WaitForAsync(update, 1)).Single();
        Assert.Equal($"Bearer {Token}", updated.Headers["Authorization"]);
        Assert.Equal("C024BE91L", updated.Body.GetProperty("channel").GetString());
        Assert.Equal("1700000000.000100", updated.Body.GetProperty("ts").GetString());
        Assert.Contains("Acknowledged* by <@U0ALICE>", updated.Body.GetProperty("text").GetString());

        // The same request again, within the window: a replay.
        using (var replay = await ClickAsync(body, now, signature))
        {
            Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        }
        Assert.Single(api.Webhooks.At(update));

        // And after the channel's activation is gone (moved to another silo, or idle): still a replay.
        await api.Services.GetRequiredService<IGrainFactory>().GetGrain<Monitoring.Channels.INotificationChannelGrain>($"bot-{s.Id}")
            .AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () =>
        {
            using var again = await ClickAsync(body, now, signature);
            Assert.NotEqual(HttpStatusCode.OK, again.StatusCode);
            return again.StatusCode == HttpStatusCode.Conflict;
        }, "the replay refused by a new activation");
        Assert.Single(api.Webhooks.At(update));

        // The secret is write-only, and appears in no log.
        var view = await (await api.Http.GetAsync($"/api/channels/bot-{s.Id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(Secret, view);
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(Secret));
    }

    [Fact]
    public async Task An_incoming_webhook_channel_cannot_take_a_signing_secret_and_its_messages_have_no_buttons()
    {
        var s = new ApiScenario(api);
        var response = await api.Http.PostJsonAsync("/api/channels",
            $$"""{"id":"wh-{{s.Id}}","type":"slack","config":{"webhookUrl":"{{s.Url("slack")}}","signingSecret":"{{Secret}}"} }""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("incoming webhook cannot receive button clicks", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/channels/wh-{s.Id}")).StatusCode);
    }
}
