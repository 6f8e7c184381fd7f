using System.Net;
using System.Text;
using Monitoring.Channels.Webhook;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>Signed and Alertmanager-format webhooks, retries that lose nothing, permanent failures, delivery logs and test messages.</summary>
[Collection(ApiCollection.Name)]
public sealed class WebhookDeliveryTests(ApiFixture api)
{
    [Fact]
    public async Task Webhooks_are_signed_with_the_channel_secret_and_the_secret_is_never_shown()
    {
        var s = new ApiScenario(api);
        const string secret = "whsec-5f1c9a7e-top-secret";
        await s.WebhookChannelAsync($"hook-{s.Id}", "signed", $$""","signingSecret":"{{secret}}","headers":{"Authorization":"Bearer hdr-secret-77"}""");
        await s.ServerAndRuleAsync($$""" "channels":["hook-{{s.Id}}"]""");

        await s.FireAsync();
        var hook = (await s.WaitForHooksAsync("signed", 1)).Single();

        var timestamp = hook.Headers[WebhookSender.TimestampHeader];
        Assert.Equal(api.Time.GetUtcNow().ToUnixTimeSeconds().ToString(), timestamp);
        var expected = "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{hook.RawBody}")));
        Assert.Equal(expected, hook.Headers[WebhookSender.SignatureHeader]);
        Assert.Equal("Bearer hdr-secret-77", hook.Headers["Authorization"]);

        // Write-only: the view redacts both, and a PUT that leaves them out keeps them.
        var view = await (await s.Http.GetAsync($"/api/channels/hook-{s.Id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, view);
        Assert.DoesNotContain("hdr-secret-77", view);
        Assert.Contains("<redacted>", view);
        var put = await s.Http.PutJsonAsync($"/api/channels/hook-{s.Id}", $$"""{"type":"webhook","config":{"url":"{{s.Url("signed")}}","timeoutSeconds":5} }""");
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.DoesNotContain(secret, await put.Content.ReadAsStringAsync());
        await s.ClearAsync();
        var resolved = (await s.WaitForHooksAsync("signed", 2))[1];
        var ts = resolved.Headers[WebhookSender.TimestampHeader];
        Assert.Equal(WebhookSender.Sign(secret, long.Parse(ts), Encoding.UTF8.GetBytes(resolved.RawBody)), resolved.Headers[WebhookSender.SignatureHeader]);
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(secret) || line.Contains("hdr-secret-77"));
    }

    [Fact]
    public async Task Alertmanager_mode_posts_version_4_payloads()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am", ""","format":"alertmanager" """);
        await s.ServerAndRuleAsync($$""" "channels":["am-{{s.Id}}"]""");

        await s.FireAsync();
        var firing = (await s.WaitForHooksAsync("am", 1)).Single().Body;
        Assert.Equal("4", firing.GetProperty("version").GetString());
        Assert.Equal("firing", firing.GetProperty("status").GetString());
        Assert.Equal($"am-{s.Id}", firing.GetProperty("receiver").GetString());
        Assert.Equal($"{{}}:{{alertname=\"High error rate\", server_id=\"{s.ServerId}\"}}", firing.GetProperty("groupKey").GetString());
        Assert.Equal("High error rate", firing.GetProperty("groupLabels").GetProperty("alertname").GetString());
        Assert.Equal("critical", firing.GetProperty("commonLabels").GetProperty("severity").GetString());
        Assert.Equal("prod", firing.GetProperty("commonLabels").GetProperty("env").GetString());
        Assert.Equal("http://127.0.0.1:5080", firing.GetProperty("externalURL").GetString());
        var alert = Assert.Single(firing.GetProperty("alerts").EnumerateArray());
        Assert.Equal(s.AlertId, alert.GetProperty("labels").GetProperty("alert_id").GetString());
        Assert.Equal("[CRITICAL] High error rate on Search", alert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("0001-01-01T00:00:00+00:00", alert.GetProperty("endsAt").GetString());
        Assert.Equal(16, alert.GetProperty("fingerprint").GetString()!.Length);

        await s.ClearAsync();
        var resolved = (await s.WaitForHooksAsync("am", 2))[1].Body;
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());
        var resolvedAlert = resolved.GetProperty("alerts")[0];
        Assert.Equal("resolved", resolvedAlert.GetProperty("status").GetString());
        Assert.True(resolvedAlert.GetProperty("endsAt").GetDateTimeOffset() > resolvedAlert.GetProperty("startsAt").GetDateTimeOffset().AddSeconds(-1));
        Assert.Equal(alert.GetProperty("fingerprint").GetString(), resolvedAlert.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task A_receiver_that_fails_first_gets_every_notification_once_it_recovers()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"flaky-{s.Id}", "flaky");
        await s.ServerAsync();
        await s.ServerAsync($"s2-{s.Id}");
        await s.ServerAsync($"s3-{s.Id}");
        await s.RuleAsync($$""" "channels":["flaky-{{s.Id}}"]""");
        api.Webhooks.FailNext(s.Path("flaky"), 7);

        await s.FireAsync();
        await s.FireAsync($"s2-{s.Id}");
        await s.FireAsync($"s3-{s.Id}");

        // The first attempts fail with 500; backoff retries on the fake clock until all three are through.
        await s.AdvanceUntilAsync(async () => (await s.DeliveriesAsync($"flaky-{s.Id}")).Count(d => d.GetProperty("status").GetString() == "delivered") == 3,
            "three deliveries", TimeSpan.FromSeconds(20));
        var requests = s.Hooks("flaky");
        Assert.Equal(10, requests.Count); // 7 failures + 3 successes
        var keys = requests.Select(h => h.Headers["Idempotency-Key"]).Distinct().ToArray();
        Assert.Equal(3, keys.Length);
        Assert.All(new[] { s.AlertId, s.AlertIdFor($"s2-{s.Id}"), s.AlertIdFor($"s3-{s.Id}") },
            alertId => Assert.Contains(keys, k => k.StartsWith(alertId + "/1/firing/", StringComparison.Ordinal)));

        var deliveries = await s.DeliveriesAsync($"flaky-{s.Id}");
        Assert.Equal(10, deliveries.Sum(d => d.GetProperty("attempts").GetInt32()));
        // The alert hears the outcome from the worker just after the channel's row is final.
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()) is [var only] && only.GetProperty("status").GetString() == "delivered", "the alert told of the delivery");
        var notification = Assert.Single(await s.NotificationsAsync());
        Assert.Equal($"flaky-{s.Id}", notification.GetProperty("channelId").GetString());
        Assert.True(notification.GetProperty("attempts").GetInt32() >= 1);
    }

    [Fact]
    public async Task A_permanent_error_fails_at_once_with_the_error_and_is_not_retried()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"bad-{s.Id}", "bad");
        await s.ServerAndRuleAsync($$""" "channels":["bad-{{s.Id}}"],"autoResolve":false""");
        api.Webhooks.AnswerNext(s.Path("bad"), 1, 400);

        await s.FireAsync();
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()).Any(n => n.GetProperty("status").GetString() == "failed"), "a failed notification");
        var failed = (await s.NotificationsAsync()).Single();
        Assert.Equal(1, failed.GetProperty("attempts").GetInt32());
        Assert.Contains("400", failed.GetProperty("lastError").GetString());

        await s.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Single(s.Hooks("bad"));
    }

    [Fact]
    public async Task Retries_stop_at_the_maximum_age_and_the_notification_is_marked_failed()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"down-{s.Id}", "down", ""","retry":{"maxAge":"5m","initialDelay":"10s","maxDelay":"1m"}""");
        await s.ServerAndRuleAsync($$""" "channels":["down-{{s.Id}}"],"autoResolve":false""");
        api.Webhooks.FailNext(s.Path("down"), 1000);

        await s.FireAsync();
        await s.AdvanceUntilAsync(async () => (await s.DeliveriesAsync($"down-{s.Id}")).Any(d => d.GetProperty("status").GetString() == "failed"),
            "the notification to give up", TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(15));
        var failed = (await s.DeliveriesAsync($"down-{s.Id}")).Single();
        Assert.True(failed.GetProperty("attempts").GetInt32() >= 4, failed.ToString());
        Assert.Contains("500", failed.GetProperty("lastError").GetString());
        var attempts = s.Hooks("down").Count;
        Assert.Equal(failed.GetProperty("attempts").GetInt32(), attempts);

        await s.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(attempts, s.Hooks("down").Count);
        Assert.Equal(0, (await s.ChannelViewAsync($"down-{s.Id}")).GetProperty("pending").GetInt32());
    }

    [Fact]
    public async Task A_token_bucket_holds_notifications_back_and_sends_every_one_later()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"slow-{s.Id}", "slow", ""","rateLimit":{"perMinute":1,"burst":1}""");
        await s.ServerAsync();
        await s.ServerAsync($"s2-{s.Id}");
        await s.ServerAsync($"s3-{s.Id}");
        await s.RuleAsync($$""" "channels":["slow-{{s.Id}}"]""");

        await s.FireAsync();
        await s.WaitForHooksAsync("slow", 1);
        await s.FireAsync($"s2-{s.Id}");
        await s.FireAsync($"s3-{s.Id}");
        await Eventually.TrueAsync(async () => (await s.ChannelViewAsync($"slow-{s.Id}")).GetProperty("held").GetInt32() == 2, "two held notifications");
        var held = (await s.DeliveriesAsync($"slow-{s.Id}")).Where(d => d.GetProperty("status").GetString() == "held").ToArray();
        Assert.Equal(2, held.Length);
        Assert.Single(s.Hooks("slow"));

        // A token a minute: nothing more goes out in the 45 s (fake clock) after the last one went out, then the next
        // one does. Counted from the last delivery's own time, not from when the test noticed it: on a loaded machine
        // the test may notice a delivery several clock steps late.
        for (var expected = 2; expected <= 3; expected++)
        {
            var last = (await s.DeliveriesAsync($"slow-{s.Id}")).Where(d => d.GetProperty("status").GetString() == "delivered")
                .Max(d => d.GetProperty("updatedAt").GetDateTimeOffset());
            while (api.Time.GetUtcNow() < last + TimeSpan.FromSeconds(45)) await s.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            await Eventually.StaysFalseAsync(() => s.Hooks("slow").Count >= expected, $"notification {expected} before its token");
            // One-second steps: the clock moves little while a send is on its way, so the last delivery's time stays close to its token's.
            await s.AdvanceUntilAsync(() => s.Hooks("slow").Count == expected, $"notification {expected}", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));
        }
        await Eventually.TrueAsync(async () => (await s.DeliveriesAsync($"slow-{s.Id}")).All(d => d.GetProperty("status").GetString() == "delivered"), "all delivered");

        var view = await s.ChannelViewAsync($"slow-{s.Id}");
        Assert.Equal(0, view.GetProperty("held").GetInt32());
        Assert.Equal(2, view.GetProperty("heldTotal").GetInt64());
        Assert.Equal(3, s.Hooks("slow").Select(h => h.Headers["Idempotency-Key"]).Distinct().Count());
    }

    [Fact]
    public async Task A_test_message_reports_what_the_receiver_answered()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"t-{s.Id}", "test");

        var ok = await (await s.Http.PostAsync($"/api/channels/t-{s.Id}/test", null)).JsonAsync();
        Assert.True(ok.GetProperty("delivered").GetBoolean());
        var hook = (await s.WaitForHooksAsync("test", 1)).Single();
        Assert.Equal("test", hook.Body.GetProperty("context").GetProperty("notification").GetString());

        api.Webhooks.FailNext(s.Path("test"), 1);
        var failed = await (await s.Http.PostAsync($"/api/channels/t-{s.Id}/test", null)).JsonAsync();
        Assert.False(failed.GetProperty("delivered").GetBoolean());
        Assert.Contains("500", failed.GetProperty("error").GetString());

        var log = await s.DeliveriesAsync($"t-{s.Id}");
        Assert.Equal(["failed", "delivered"], log.Select(d => d.GetProperty("status").GetString()));
        await (await s.Http.PostAsync("/api/channels/nope-nope/test", null)).AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"id":"x1","type":"webhook","config":{"url":"ftp://example.com"}}""", "config.url")]
    [InlineData("""{"id":"x2","type":"webhook","config":{"url":"http://127.0.0.1:1/h","format":"prometheus"}}""", "config.format")]
    [InlineData("""{"id":"x3","type":"webhook","config":{"url":"http://127.0.0.1:1/h","rateLimit":{"burst":3}}}""", "config.rateLimit.perMinute")]
    [InlineData("""{"id":"x4","type":"webhook","config":{"url":"http://127.0.0.1:1/h","retry":{"maxAge":"forever"}}}""", "config.retry.maxAge")]
    [InlineData("""{"id":"x5","type":"webhook","config":{"url":"http://127.0.0.1:1/h","subjectTemplate":"{{ x | "}}""", "config.subjectTemplate")]
    [InlineData("""{"id":"x6","type":"webhook","config":{"url":"http://127.0.0.1:1/h","headers":{"X-A":"a\nb"}}}""", "config.headers.X-A")]
    [InlineData("""{"id":"x7","type":"slack","config":{}}""", "config.webhookUrl")]
    [InlineData("""{"id":"x8","type":"slack","config":{"token":"xoxb-1"}}""", "config.channel")]
    [InlineData("""{"id":"x9","type":"slack","config":{"token":"abc","channel":"#a"}}""", "config.token")]
    [InlineData("""{"id":"x10","type":"email","config":{"host":"127.0.0.1","from":"a@example.com"}}""", "config.to")]
    [InlineData("""{"id":"x11","type":"email","config":{"host":"127.0.0.1","from":"a@example.com","to":["nobody"]}}""", "config.to[0]")]
    [InlineData("""{"id":"x12","type":"email","config":{"host":"127.0.0.1","from":"a@example.com","to":["b@example.com"],"security":"tls13"}}""", "config.security")]
    [InlineData("""{"id":"x13","type":"email","config":{"host":"127.0.0.1","from":"a@example.com","to":["b@example.com"],"username":"u"}}""", "config.password")]
    [InlineData("""{"id":"x14","type":"email","config":{"host":"127.0.0.1","from":"a@example.com","to":["b@example.com"],"caCertificate":"not a pem"}}""", "config.caCertificate")]
    public async Task Invalid_channel_configs_are_refused_with_the_field_and_not_created(string body, string field)
    {
        var response = await api.Http.PostJsonAsync("/api/channels", body);
        var detail = await response.AssertProblemAsync(400);
        Assert.Contains(field + ":", detail);
        var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString();
        await (await api.Http.GetAsync($"/api/channels/{id}")).AssertProblemAsync(404);
    }
}
