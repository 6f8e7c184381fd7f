using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>Slack through its HTTP APIs, against a listener on loopback: the exact Block Kit JSON, bot tokens, threads and 429s.</summary>
[Collection(ApiCollection.Name)]
public sealed class SlackTests(ApiFixture api)
{
    private const string Body = """ "bodyTemplate":"{{ message }} ({{ values.error_rate }})" """;

    [Fact]
    public async Task An_incoming_webhook_gets_exactly_this_json()
    {
        var s = new ApiScenario(api);
        // The request the issue gives, as written.
        await s.ChannelAsync($"chat-{s.Id}", "slack", $$"""{"webhookUrl":"{{s.Url("slack")}}"}""");
        await s.ServerAndRuleAsync($$""" "channels":["chat-{{s.Id}}"],{{Body}}""");

        await s.FireAsync();
        var hook = (await s.WaitForHooksAsync("slack", 1)).Single();

        var expected = JsonNode.Parse($$$"""
            {
              "text": "[CRITICAL] High error rate on Search",
              "attachments": [{
                "color": "#dc3545",
                "fallback": "[CRITICAL] High error rate on Search",
                "blocks": [
                  {"type": "header", "text": {"type": "plain_text", "text": "[CRITICAL] High error rate on Search"} },
                  {"type": "section", "text": {"type": "mrkdwn", "text": "Error rate exceeded 5% (1)"}},
                  {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": "*Severity*\ncritical"},
                    {"type": "mrkdwn", "text": "*Status*\nfiring"},
                    {"type": "mrkdwn", "text": "*Server*\nSearch (`{{{s.ServerId}}}`), unhealthy"},
                    {"type": "mrkdwn", "text": "*Alert ID*\n`{{{s.AlertId}}}`"}
                  ]},
                  {"type": "context", "elements": [{"type": "mrkdwn", "text": "MCP Alerting · firing · key `{{{s.AlertId}}}/1/firing/3`"}]}
                ]
              }]
            }
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(hook.RawBody)), hook.RawBody);
        Assert.StartsWith("""{"text":""", hook.RawBody);
        Assert.StartsWith("application/json", hook.Headers["Content-Type"]);

        await s.ClearAsync();
        var resolved = JsonNode.Parse((await s.WaitForHooksAsync("slack", 2))[1].RawBody)!;
        Assert.Equal("#28a745", resolved["attachments"]![0]!["color"]!.GetValue<string>());
        Assert.Equal("[CRITICAL] RESOLVED: High error rate on Search", resolved["text"]!.GetValue<string>());

        var view = await (await s.Http.GetAsync($"/api/channels/chat-{s.Id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(s.Path("slack"), view); // a webhook URL is a credential
    }

    [Fact]
    public async Task A_bot_token_posts_to_chat_postMessage_and_threads_the_resolution_under_the_firing_message()
    {
        var s = new ApiScenario(api);
        const string token = "xoxb-1234-5678-secrettoken";
        var api0 = s.Path("api") + "/chat.postMessage";
        api.Webhooks.RespondWith(api0, hook => Results.Json(new { ok = true, channel = "C024BE91L", ts = hook.Body.TryGetProperty("thread_ts", out _) ? "1700000000.000200" : "1700000000.000100" }));
        await s.ChannelAsync($"bot-{s.Id}", "slack", $$"""{"token":"{{token}}","channel":"#oncall","apiBaseUrl":"{{s.Url("api")}}"}""");
        await s.ServerAndRuleAsync($$""" "channels":["bot-{{s.Id}}"],{{Body}}""");

        await s.FireAsync();
        var first = (await api.Webhooks.WaitForAsync(api0, 1)).Single();
        Assert.Equal($"Bearer {token}", first.Headers["Authorization"]);
        Assert.Equal("#oncall", first.Body.GetProperty("channel").GetString());
        Assert.False(first.Body.TryGetProperty("thread_ts", out _));

        await s.ClearAsync();
        var reply = (await api.Webhooks.WaitForAsync(api0, 2))[1];
        Assert.Equal("1700000000.000100", reply.Body.GetProperty("thread_ts").GetString());
        Assert.Equal("#oncall", reply.Body.GetProperty("channel").GetString());

        var view = await (await s.Http.GetAsync($"/api/channels/bot-{s.Id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(token, view);
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(token));
    }

    [Fact]
    public async Task Under_parallel_delivery_each_resolution_is_threaded_under_its_own_firing_message()
    {
        // Twenty alerts on one bot channel fire and resolve at once: both messages of each are queued together while
        // the channel sends many messages in parallel. Each thread's messages must still go one after the other.
        var s = new ApiScenario(api);
        var servers = Enumerable.Range(0, 20).Select(i => $"{s.ServerId}-{i:00}").ToArray();
        var path = s.Path("api") + "/chat.postMessage";
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(); // ts -> the server its firing message named
        var next = 0;
        api.Webhooks.RespondWith(path, hook =>
        {
            if (hook.Body.TryGetProperty("thread_ts", out var thread)) return Results.Json(new { ok = true, channel = "C1", ts = thread.GetString() + "1" });
            var ts = $"1700000000.{Interlocked.Increment(ref next):000000}";
            threads[ts] = ServerNamed(hook.Body.GetRawText());
            return Results.Json(new { ok = true, channel = "C1", ts });
        });
        await s.ChannelAsync($"bot-{s.Id}", "slack", $$"""{"token":"xoxb-1-2-parallel","channel":"#oncall","apiBaseUrl":"{{s.Url("api")}}"}""");
        await s.RuleAsync($$""" "channels":["bot-{{s.Id}}"]""");
        foreach (var server in servers) await s.ServerAsync(server);

        await Task.WhenAll(servers.Select(async server => { await s.FireAsync(server); await s.ClearAsync(server); }));

        var posts = await api.Webhooks.WaitForAsync(path, servers.Length * 2);
        var replies = posts.Where(p => p.Body.TryGetProperty("thread_ts", out _)).ToArray();
        Assert.Equal(servers.Length, replies.Length);
        Assert.All(replies, reply =>
            Assert.Equal(ServerNamed(reply.Body.GetRawText()), threads[reply.Body.GetProperty("thread_ts").GetString()!]));
        Assert.Equal(servers.Order(), threads.Values.Order());

        string ServerNamed(string body) => servers.Single(server => body.Contains($"`{server}`", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_web_api_error_fails_the_delivery_with_slacks_error()
    {
        var s = new ApiScenario(api);
        var path = s.Path("api") + "/chat.postMessage";
        api.Webhooks.RespondWith(path, _ => Results.Json(new { ok = false, error = "channel_not_found" }));
        await s.ChannelAsync($"bot-{s.Id}", "slack", $$"""{"token":"xoxb-1","channel":"#nowhere","apiBaseUrl":"{{s.Url("api")}}"}""");

        var test = await (await s.Http.PostAsync($"/api/channels/bot-{s.Id}/test", null)).JsonAsync();
        Assert.False(test.GetProperty("delivered").GetBoolean());
        Assert.Equal("Slack answered channel_not_found", test.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_429_is_retried_after_its_retry_after_not_sooner()
    {
        var s = new ApiScenario(api);
        await s.ChannelAsync($"chat-{s.Id}", "slack", $$"""{"webhookUrl":"{{s.Url("slack")}}"}""");
        await s.ServerAndRuleAsync($$""" "channels":["chat-{{s.Id}}"],"autoResolve":false""");
        api.Webhooks.RateLimitNext(s.Path("slack"), 1, retryAfterSeconds: 30);

        await s.FireAsync();
        await s.WaitForHooksAsync("slack", 1);
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()).Single().GetProperty("attempts").GetInt32() == 1
            && (await s.NotificationsAsync()).Single().GetProperty("lastError").GetString()?.Contains("429") == true, "the 429 to be recorded");

        // The backoff alone would retry after about 2s; Slack asked for 30.
        var waited = await s.AdvanceUntilAsync(() => s.Hooks("slack").Count == 2, "the retry", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));
        Assert.True(waited >= TimeSpan.FromSeconds(29), $"retried after {waited}");
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()).Single().GetProperty("status").GetString() == "delivered", "delivery");
        Assert.Equal(2, (await s.NotificationsAsync()).Single().GetProperty("attempts").GetInt32());
        Assert.Equal(s.Hooks("slack")[0].RawBody, s.Hooks("slack")[1].RawBody);
    }
}
