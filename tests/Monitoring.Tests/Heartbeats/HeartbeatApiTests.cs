using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Heartbeats;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Heartbeats;

/// <summary>
/// Heartbeats through the product: a check pinged by its URL, late, down (an ordinary alert through the routing tree to
/// a real webhook receiver), up again on the next ping; failures and exit codes; the URL's token as its only
/// credential; bad input refused. On the fake clock.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HeartbeatApiTests(ApiFixture api)
{
    private static async Task<JsonElement> CreatedAsync(ApiScenario s, string body)
    {
        var response = await s.Http.PostJsonAsync("/api/heartbeats", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    /// <summary>Alerts labelled with this scenario's id go to its webhook, one incident each, at once.</summary>
    private static async Task RouteAsync(ApiScenario s)
    {
        await s.WebhookChannelAsync($"jobs-{s.Id}", "jobs");
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}"],"receiver":"jobs-{{s.Id}}","groupBy":["heartbeat"],"groupWait":"0s","groupInterval":"1m"}]},
             "receivers":[{"name":"jobs-{{s.Id}}","channels":["jobs-{{s.Id}}"]}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> StatusAsync(ApiScenario s, string id) =>
        (await (await s.Http.GetAsync($"/api/heartbeats/{id}")).JsonAsync()).GetProperty("status").GetString()!;

    private static string PathOf(JsonElement created) => new Uri(created.GetProperty("pingUrl").GetString()!).AbsolutePath;

    [Fact]
    public async Task A_check_that_stops_pinging_pages_through_the_routing_tree_and_its_next_ping_resolves_it()
    {
        var s = new ApiScenario(api);
        await RouteAsync(s);
        var created = await CreatedAsync(s, $$"""{"id":"nightly-{{s.Id}}","name":"Nightly export","labels":{"t":"{{s.Id}}","team":"data"},"period":"1h","grace":"5m"}""");
        Assert.Equal("new", created.GetProperty("status").GetString());
        var ping = PathOf(created);

        Assert.Equal("OK\n", await (await s.Http.GetAsync(ping)).Content.ReadAsStringAsync());
        Assert.Equal("up", await StatusAsync(s, $"nightly-{s.Id}"));

        // An hour on it is late (in its grace): shown, nobody paged. Five minutes more, down: an ordinary alert, paged.
        await s.AdvanceAsync(TimeSpan.FromMinutes(62), TimeSpan.FromMinutes(1));
        Assert.Equal("late", await StatusAsync(s, $"nightly-{s.Id}"));
        Assert.Empty(s.Hooks("jobs"));
        await s.AdvanceAsync(TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(1));
        var page = (await s.WaitForHooksAsync("jobs", 1))[0].Body; // the page goes out in real time once the clock has passed the grace
        var alert = page.GetProperty("incident").GetProperty("alerts")[0];
        Assert.Equal("HeartbeatDown", alert.GetProperty("labels").GetProperty("alertname").GetString());
        Assert.Equal($"nightly-{s.Id}", alert.GetProperty("labels").GetProperty("heartbeat").GetString());
        Assert.Equal("data", alert.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal("down", await StatusAsync(s, $"nightly-{s.Id}"));
        var firing = await (await s.Http.GetAsync($"/api/v2/alerts?filter=heartbeat%3D%22nightly-{s.Id}%22")).JsonAsync();
        Assert.Contains("no ping since", Assert.Single(firing.EnumerateArray()).GetProperty("annotations").GetProperty("description").GetString());
        var console = await (await s.Http.GetAsync("/heartbeats")).Content.ReadAsStringAsync();
        var row = console[console.IndexOf($"nightly-{s.Id}", StringComparison.Ordinal)..];
        Assert.Contains("<td>down</td>", row[..row.IndexOf("</tr>", StringComparison.Ordinal)]);

        // The next ping: up, and the alert resolves (the receiver hears so).
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostAsync(ping, new StringContent("exported 1,204 rows"))).StatusCode);
        Assert.Equal("up", await StatusAsync(s, $"nightly-{s.Id}"));
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/v2/alerts?filter=heartbeat%3D%22nightly-{s.Id}%22")).JsonAsync()).GetArrayLength() == 0, "the alert to end");
        await s.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(30)); // the group's interval, before its resolved message
        await Eventually.TrueAsync(() => s.Hooks("jobs").Any(h => h.Body.GetProperty("incident").GetProperty("resolved").GetInt32() == 1), "the resolved message");
        var view = await (await s.Http.GetAsync($"/api/heartbeats/nightly-{s.Id}")).JsonAsync();
        Assert.Equal("exported 1,204 rows", view.GetProperty("lastPing").GetProperty("log").GetString());
        Assert.Equal(2, view.GetProperty("pings").GetArrayLength());
    }

    [Fact]
    public async Task A_listing_that_cannot_be_written_does_not_fail_a_ping_and_is_written_with_the_next_step()
    {
        var s = new ApiScenario(api);
        var id = $"backup-{s.Id}";
        var ping = PathOf(await CreatedAsync(s, $$"""{"id":"{{id}}","labels":{"t":"{{s.Id}}"},"period":"1h","grace":"5m"}"""));
        async Task<string?> ListedAsync() =>
            (await (await s.Http.GetAsync("/api/heartbeats?limit=1000")).JsonAsync()).GetProperty("items").EnumerateArray()
                .Where(h => h.GetProperty("id").GetString() == id).Select(h => h.GetProperty("status").GetString()).SingleOrDefault();
        Assert.Equal("new", await ListedAsync());

        var shard = Listings.ListingShards.KeyFor(Listings.HeartbeatEntry.Kind, id);
        api.Faults.Fail(shard); // the heartbeat's listing shard refuses every call
        try
        {
            var response = await s.Http.GetAsync(ping);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("up", await StatusAsync(s, id));
        }
        finally
        {
            api.Faults.Heal(shard);
        }
        Assert.Equal("new", await ListedAsync()); // not written: the shard refused it

        // The next step lists what the check says now, even one that changes nothing: here the reminder's tick, with
        // the check still up (a check that remembered "up" as listed would never write it).
        var tick = api.Time.GetUtcNow().UtcDateTime;
        var check = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IHeartbeatGrain>(id);
        await check.AsReference<IRemindable>().ReceiveReminder("heartbeat", new TickStatus(tick, TimeSpan.FromMinutes(1), tick));
        Assert.Equal("up", await ListedAsync());
    }

    [Fact]
    public async Task A_failure_or_a_non_zero_exit_code_is_down_at_once_and_pausing_ends_the_alert()
    {
        var s = new ApiScenario(api);
        await RouteAsync(s);
        var ping = PathOf(await CreatedAsync(s, $$"""{"id":"etl-{{s.Id}}","labels":{"t":"{{s.Id}}"},"cron":"0 2 * * *","timeZone":"Europe/Berlin","grace":"30m"}"""));
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(ping + "/start")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostAsync(ping + "/3", new StringContent("disk full"))).StatusCode);
        Assert.Equal("down", await StatusAsync(s, $"etl-{s.Id}"));
        await s.WaitForHooksAsync("jobs", 1);
        var view = await (await s.Http.GetAsync($"/api/heartbeats/etl-{s.Id}")).JsonAsync();
        Assert.Equal(3, view.GetProperty("lastPing").GetProperty("exitCode").GetInt32());
        Assert.Equal("fail", view.GetProperty("lastPing").GetProperty("kind").GetString());

        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostAsync($"/api/heartbeats/etl-{s.Id}/pause", null)).StatusCode);
        Assert.Equal("paused", await StatusAsync(s, $"etl-{s.Id}"));
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/v2/alerts?filter=heartbeat%3D%22etl-{s.Id}%22")).JsonAsync()).GetArrayLength() == 0, "the alert to end");

        // A ping resumes it; exit code 0 is a success.
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(ping + "/0")).StatusCode);
        Assert.Equal("up", await StatusAsync(s, $"etl-{s.Id}"));
    }

    [Fact]
    public async Task The_token_is_the_only_credential_rotating_or_deleting_ends_it_and_bad_input_changes_nothing()
    {
        var s = new ApiScenario(api);
        var created = await CreatedAsync(s, $$"""{"id":"agent-{{s.Id}}","period":"10m"}""");
        var ping = PathOf(created);

        // Unknown tokens: one plain 404 that says nothing about which exist.
        var unknown = await s.Http.GetAsync("/ping/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        var other = await s.Http.GetAsync("/ping/short");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString(),
            JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());

        // A body over 10,000 bytes: 413, and nothing recorded.
        var huge = await s.Http.PostAsync(ping, new StringContent(new string('x', 20_000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal("application/problem+json", huge.Content.Headers.ContentType?.MediaType);
        Assert.Equal("new", await StatusAsync(s, $"agent-{s.Id}"));
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Http.GetAsync(ping + "/300")).StatusCode);

        // Bad checks: each refused at its field, nothing stored.
        foreach (var (body, field) in new[]
        {
            ($$"""{"id":"bad1-{{s.Id}}","cron":"0 25 * * *"}""", "cron"),
            ($$"""{"id":"bad2-{{s.Id}}","cron":"0 2 * * *","timeZone":"Mars/Olympus"}""", "timeZone"),
            ($$"""{"id":"bad3-{{s.Id}}","period":"1h","cron":"0 2 * * *"}""", "period"),
            ($$"""{"id":"bad4-{{s.Id}}","period":"soon"}""", "period"),
            ($$$"""{"id":"bad5-{{{s.Id}}}","period":"1h","labels":{"alertname":"x"}}""", "labels"),
        })
        {
            var refused = await s.Http.PostJsonAsync("/api/heartbeats", body);
            await refused.AssertProblemAsync(400);
            Assert.True((await refused.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _), body);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/heartbeats/bad1-{s.Id}")).StatusCode);

        // Rotated: the old URL is gone, the new one works. Deleted: that one is gone too.
        var rotated = await (await s.Http.PostAsync($"/api/heartbeats/agent-{s.Id}/token", null)).JsonAsync();
        var next = PathOf(rotated);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync(ping)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(next)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/heartbeats/agent-{s.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync(next)).StatusCode);
    }

    [Fact]
    public async Task A_ping_flood_is_limited_per_token()
    {
        var s = new ApiScenario(api);
        var ping = PathOf(await CreatedAsync(s, $$"""{"id":"flood-{{s.Id}}","period":"1m"}"""));
        var other = PathOf(await CreatedAsync(s, $$"""{"id":"calm-{{s.Id}}","period":"1m"}"""));
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 70; i++) answers.Add((await s.Http.GetAsync(ping)).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, answers);
        Assert.True(answers.Count(a => a == HttpStatusCode.OK) <= 60, string.Join(",", answers));
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(other)).StatusCode); // another token has its own budget
    }
}
