using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.OnCall;

/// <summary>
/// Escalation that reaches people, for incidents and for rules alike: level 1 pages whoever the schedule has on call,
/// through their own rules (a webhook at once, a second one after 5 minutes if still unacknowledged); level 2 pages a
/// backup after 10 minutes. Acknowledging stops the person's later page and the backup's. On the fake clock.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OnCallPagingTests(ApiFixture api)
{
    /// <summary>ann (on call in the schedule) and ben (the backup), each with their own webhooks; a policy of two levels.</summary>
    private async Task<ApiScenario> PeopleAsync()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ann-now-{s.Id}", "ann-now");
        await s.WebhookChannelAsync($"ann-later-{s.Id}", "ann-later");
        await s.WebhookChannelAsync($"ben-{s.Id}", "ben");
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await Created(s, "/api/users", $$"""
            {"id":"ann-{{s.Id}}","name":"Ann","timeZone":"Europe/Berlin",
             "contactMethods":[{"id":"phone-app","type":"webhook","channel":"ann-now-{{s.Id}}"},{"id":"pager","type":"webhook","channel":"ann-later-{{s.Id}}"}],
             "notificationRules":[{"contactMethod":"phone-app","after":"0s"},{"contactMethod":"pager","after":"5m"}]}
            """);
        await Created(s, "/api/users", $$"""{"id":"ben-{{s.Id}}","name":"Ben","contactMethods":[{"id":"hook","type":"webhook","channel":"ben-{{s.Id}}"}]}""");
        await Created(s, "/api/users", $$"""{"id":"cal-{{s.Id}}","name":"Cal","contactMethods":[{"id":"hook","type":"webhook","channel":"ben-{{s.Id}}"}]}""");
        // ann's turn now: a daily rotation of ann then cal, starting at today's midnight (UTC) of the product's clock.
        var midnight = api.Time.GetUtcNow().UtcDateTime.Date.ToString("yyyy-MM-dd'T'HH:mm");
        await Created(s, "/api/schedules", $$"""
            {"id":"primary-{{s.Id}}","name":"Primary","timeZone":"UTC","layers":[{"name":"daily","users":["ann-{{s.Id}}","cal-{{s.Id}}"],"start":"{{midnight}}","shift":"2d"}]}
            """);
        await Created(s, "/api/escalation-policies", $$"""
            {"id":"p-{{s.Id}}","levels":[{"delay":"0s","schedules":["primary-{{s.Id}}"]},{"delay":"10m","users":["ben-{{s.Id}}"]}]}
            """);
        return s;
    }

    private static async Task Created(ApiScenario s, string url, string body)
    {
        var response = await s.Http.PostJsonAsync(url, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task RouteAsync(ApiScenario s)
    {
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}","rule_id=~.*-{{s.Id}}"],"receiver":"oncall-{{s.Id}}","groupWait":"0s"}]},
             "receivers":[{"name":"oncall-{{s.Id}}","channels":["ops-{{s.Id}}"],"escalationPolicy":"p-{{s.Id}}"}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static JsonElement Recipient(ReceivedHook hook) => hook.Body.GetProperty("recipient");

    [Fact]
    public async Task An_incident_pages_the_person_on_call_at_once_by_their_later_rule_after_5m_and_the_backup_after_10m()
    {
        var s = await PeopleAsync();
        await RouteAsync(s);
        await s.ServerAndRuleAsync("\"channels\":[]");
        await s.FireAsync();

        var first = (await s.WaitForHooksAsync("ann-now", 1)).Single();
        Assert.Equal($"ann-{s.Id}", Recipient(first).GetProperty("user").GetString());
        Assert.Equal("phone-app", Recipient(first).GetProperty("contact_method").GetString());
        Assert.Equal($"primary-{s.Id}", Recipient(first).GetProperty("schedule").GetString());
        Assert.Equal(1, first.Body.GetProperty("incident").GetProperty("firing").GetInt32());
        await s.WaitForHooksAsync("ops", 1); // the receiver's own channel as well
        Assert.Empty(s.Hooks("ann-later"));

        // The clock is moved to each deadline and no further, then the page is awaited in real time: moving on while a
        // loaded machine still delivers would pass the backup's deadline too.
        await s.AdvanceAsync(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        await s.WaitForHooksAsync("ann-later", 1);
        Assert.Empty(s.Hooks("ben"));
        await s.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30));
        await s.WaitForHooksAsync("ben", 1);
        Assert.Equal($"ben-{s.Id}", Recipient(s.Hooks("ben")[0]).GetProperty("user").GetString());
        Assert.Equal(2, s.Hooks("ben")[0].Body.GetProperty("context").GetProperty("escalation_level").GetInt32());

        var incident = first.Body.GetProperty("incident").GetProperty("id").GetString();
        var timeline = (await (await s.Http.GetAsync($"/api/incidents/{incident}")).JsonAsync()).GetProperty("timeline").ToString();
        Assert.Contains($"paged ann-{s.Id} (schedule primary-{s.Id}) by phone-app at once, by pager after 5m", timeline);
        Assert.Contains($"level 2 paged ben-{s.Id} by hook at once", timeline);
    }

    [Fact]
    public async Task Acknowledging_the_incident_cancels_the_persons_later_page_and_the_backups()
    {
        var s = await PeopleAsync();
        await RouteAsync(s);
        await s.ServerAndRuleAsync("\"channels\":[]");
        await s.FireAsync();
        var first = (await s.WaitForHooksAsync("ann-now", 1)).Single();
        var incident = first.Body.GetProperty("incident").GetProperty("id").GetString();

        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/incidents/{incident}/ack", $$"""{"by":"ann-{{s.Id}}"}""")).StatusCode);
        await s.AdvanceAsync(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(30));
        Assert.Empty(s.Hooks("ann-later"));
        Assert.Empty(s.Hooks("ben"));

        var view = await (await s.Http.GetAsync($"/api/incidents/{incident}")).JsonAsync();
        Assert.Contains("1 later page cancelled: acknowledged by ann-", view.GetProperty("timeline").ToString());
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/channels/ann-later-{s.Id}/deliveries")).JsonAsync())
            .GetProperty("items").EnumerateArray().Any(d => d.GetProperty("status").GetString() == "cancelled"), "the held page recorded as cancelled");
    }

    [Fact]
    public async Task A_cancel_the_channel_did_not_take_is_kept_and_sent_again_so_the_later_page_never_goes()
    {
        var s = await PeopleAsync();
        await RouteAsync(s);
        await s.ServerAndRuleAsync("\"channels\":[]");
        await s.FireAsync();
        var first = (await s.WaitForHooksAsync("ann-now", 1)).Single();
        var incident = first.Body.GetProperty("incident").GetProperty("id").GetString();

        // The channel holding ann's later page refuses every call while she acknowledges: the cancel does not reach it.
        var refusedBefore = api.Faults.Refused;
        api.Faults.Fail($"ann-later-{s.Id}");
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/incidents/{incident}/ack", $$"""{"by":"ann-{{s.Id}}"}""")).StatusCode);
            await Eventually.TrueAsync(() => api.Faults.Refused > refusedBefore, "the cancel to be refused");
        }
        finally
        {
            api.Faults.Heal($"ann-later-{s.Id}");
        }

        // Kept, it is sent again with the next hand-off try (30 s on), well before the page is due: it never goes.
        await s.AdvanceAsync(TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/channels/ann-later-{s.Id}/deliveries")).JsonAsync())
            .GetProperty("items").EnumerateArray().Any(d => d.GetProperty("status").GetString() == "cancelled"), "the held page recorded as cancelled");
        await s.AdvanceAsync(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(30));
        Assert.Empty(s.Hooks("ann-later"));
        Assert.Empty(s.Hooks("ben"));
    }

    [Fact]
    public async Task A_rule_that_names_the_policy_pages_the_same_people_and_its_acknowledgement_stops_them()
    {
        var s = await PeopleAsync();
        await s.ServerAndRuleAsync($"\"channels\":[],\"escalationPolicy\":\"p-{s.Id}\"");
        await s.FireAsync();
        var first = (await s.WaitForHooksAsync("ann-now", 1)).Single();
        Assert.Equal(s.AlertId, first.Body.GetProperty("alert").GetProperty("id").GetString());
        Assert.Equal($"ann-{s.Id}", Recipient(first).GetProperty("user").GetString());

        await s.AdvanceAsync(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)); // to ann's later page, not past the backup's
        await s.WaitForHooksAsync("ann-later", 1);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/alerts/{s.AlertId}/ack", $$"""{"by":"ann-{{s.Id}}"}""")).StatusCode);
        await s.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(30));
        Assert.Empty(s.Hooks("ben"));
        var notifications = await s.NotificationsAsync();
        Assert.Equal(2, notifications.Count(n => n.GetProperty("status").GetString() == "delivered"));
    }
}

/// <summary>
/// A person's pages through real parts: their email to their own address on a real SMTP server (aiosmtpd), their Slack
/// page as a direct message through the bot-token channel (a Slack stand-in on loopback), and their click on that
/// message acknowledging as them, which stops the backup's page.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OnCallContactTests(ApiFixture api)
{
    private const string Secret = "0c5e9d2a41b7f3e8a6d4c2b0f9e8d7c6";

    [Fact]
    public async Task The_person_on_call_gets_their_own_mail_and_slack_message_and_their_click_acknowledges_as_them()
    {
        await using var smtp = await SmtpSink.StartAsync();
        var s = new ApiScenario(api);
        var post = s.Path("api") + "/chat.postMessage";
        api.Webhooks.RespondWith(post, _ => Microsoft.AspNetCore.Http.Results.Json(new { ok = true, channel = "D0DIRECT1", ts = "1700000000.000300" }));
        api.Webhooks.RespondWith(s.Path("api") + "/chat.update", _ => Microsoft.AspNetCore.Http.Results.Json(new { ok = true }));
        await s.ChannelAsync($"mail-{s.Id}", "email", $$"""{"host":"127.0.0.1","port":{{smtp.Port}},"security":"none","from":"alerts@example.com","to":["team@example.com"]}""");
        await s.ChannelAsync($"bot-{s.Id}", "slack", $$"""{"token":"xoxb-1-2-dm","channel":"#oncall","apiBaseUrl":"{{s.Url("api")}}","signingSecret":"{{Secret}}"}""");
        await s.WebhookChannelAsync($"ben-{s.Id}", "ben");
        var slackUser = "U0" + s.Id.ToUpperInvariant();
        async Task Created(string url, string body)
        {
            var response = await s.Http.PostJsonAsync(url, body);
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {await response.Content.ReadAsStringAsync()}");
        }
        await Created("/api/users", $$"""
            {"id":"eve-{{s.Id}}","name":"Eve","timeZone":"America/New_York",
             "contactMethods":[{"id":"mail","type":"email","channel":"mail-{{s.Id}}","address":"eve@example.com"},{"id":"slack","type":"slack","channel":"bot-{{s.Id}}","address":"{{slackUser}}"}]}
            """);
        await Created("/api/users", $$"""{"id":"ben-{{s.Id}}","name":"Ben","contactMethods":[{"id":"hook","type":"webhook","channel":"ben-{{s.Id}}"}]}""");
        await Created("/api/escalation-policies", $$"""{"id":"p-{{s.Id}}","levels":[{"delay":"0s","users":["eve-{{s.Id}}"]},{"delay":"10m","users":["ben-{{s.Id}}"]}]}""");
        await s.ServerAndRuleAsync($"\"channels\":[],\"escalationPolicy\":\"p-{s.Id}\"");
        await s.FireAsync();

        var mail = (await smtp.WaitForAsync(1)).Single();
        Assert.Equal("eve@example.com", mail.To.Mailboxes.Single().Address); // hers, not the channel's list
        var direct = (await api.Webhooks.WaitForAsync(post, 1)).Single();
        Assert.Equal(slackUser, direct.Body.GetProperty("channel").GetString()); // a direct message to her Slack user
        var value = direct.Body.GetProperty("attachments")[0].GetProperty("blocks").EnumerateArray()
            .Single(b => b.GetProperty("type").GetString() == "actions").GetProperty("elements")[0].GetProperty("value").GetString();

        // Eve clicks Acknowledge in her direct message: the product knows her Slack user id, so it is Eve who acknowledged.
        var body = SlackClicks.Body(slackUser, "eve.w", "D0DIRECT1", "1700000000.000300", "acknowledge", value!);
        using (var click = await SlackClicks.SendAsync(api.Http, Secret, body, api.Time.GetUtcNow().ToUnixTimeSeconds())) Assert.Equal(HttpStatusCode.OK, click.StatusCode);
        var alert = await s.AlertAsync();
        Assert.Equal("acknowledged", alert.GetProperty("status").GetString());
        Assert.Equal($"eve-{s.Id} (Slack {slackUser})", alert.GetProperty("acknowledgedBy").GetString());

        await s.AdvanceAsync(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(30));
        Assert.Empty(s.Hooks("ben"));
    }
}
