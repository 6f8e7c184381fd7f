using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Monitoring.Tests.Support;
using static Monitoring.Tests.Support.Drill;

namespace Monitoring.Tests.Cluster;

/// <summary>
/// On call in the production shape (3 silos, PostgreSQL, Redis, the API, and a Slack stand-in on loopback): a two-layer
/// weekly rotation with a weekday restriction and an override. Two incidents page the person on call (the override's)
/// at once by Slack direct message; the backup is paged after the delay for the incident nobody acknowledged, and not
/// for the one the person acknowledged by clicking in Slack.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class OnCallProcessTests(ITestOutputHelper output)
{
    private const string Secret = "3e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b";

    [Fact]
    public async Task An_incident_pages_the_person_on_call_at_once_the_backup_after_the_delay_and_a_slack_click_stops_the_backup()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        var post = $"/{id}/slack/chat.postMessage";
        var posted = 0;
        hooks.RespondWith(post, _ => Results.Json(new { ok = true, channel = "D0DM", ts = $"1700000000.{Interlocked.Increment(ref posted):000000}" }));
        hooks.RespondWith($"/{id}/slack/chat.update", _ => Results.Json(new { ok = true }));
        await Created(http, "/api/channels", $$"""{"id":"bot-{{id}}","type":"slack","config":{"token":"xoxb-1-2-oncall","channel":"#oncall","apiBaseUrl":"{{hooks.UrlFor($"/{id}/slack/")}}","signingSecret":"{{Secret}}"} }""");
        await Created(http, "/api/channels", $$"""{"id":"lead-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/lead")}}"} }""");
        string Slack(string who) => $"U0{who.ToUpperInvariant()}{id.ToUpperInvariant()}";
        foreach (var who in new[] { "ann", "ben", "cat" })
        {
            await Created(http, "/api/users", $$"""{"id":"{{who}}-{{id}}","timeZone":"Europe/Berlin","contactMethods":[{"id":"slack","type":"slack","channel":"bot-{{id}}","address":"{{Slack(who)}}"}]}""");
        }
        await Created(http, "/api/users", $$"""{"id":"lead-{{id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"lead-{{id}}"}]}""");
        var start = DateTime.UtcNow.Date.AddDays(-14).ToString("yyyy-MM-dd'T'HH:mm");
        await Created(http, "/api/schedules", $$"""
            {"id":"sch-{{id}}","name":"Primary","timeZone":"Europe/Berlin","layers":[
              {"name":"weekly","users":["ann-{{id}}","ben-{{id}}"],"start":"{{start}}","shift":"1w"},
              {"name":"office","users":["ben-{{id}}"],"start":"{{start}}","shift":"1d","restrictions":[{"days":["mon","tue","wed","thu","fri"],"from":"09:00","to":"17:00"}]}]}
            """);
        // Whoever the layers have on call now, cat takes the next hour from them.
        var now = await http.GetFromJsonAsync<JsonElement>($"/api/schedules/sch-{id}/oncall");
        var scheduled = now.GetProperty("users")[0].GetString()!;
        await SendAsync(http, HttpMethod.Post, $"/api/schedules/sch-{id}/overrides",
            $$"""{"user":"cat-{{id}}","start":"{{DateTime.UtcNow.AddMinutes(-1):yyyy-MM-dd'T'HH:mm:ss'Z'}}","end":"{{DateTime.UtcNow.AddHours(1):yyyy-MM-dd'T'HH:mm:ss'Z'}}","replaces":"{{scheduled}}"}""",
            HttpStatusCode.Created);
        Assert.Equal($"cat-{id}", (await http.GetFromJsonAsync<JsonElement>($"/api/schedules/sch-{id}/oncall")).GetProperty("users")[0].GetString());

        await Created(http, "/api/escalation-policies", $$"""{"id":"p-{{id}}","levels":[{"delay":"0s","schedules":["sch-{{id}}"]},{"delay":"20s","users":["lead-{{id}}"]}]}""");
        await SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{id}}"],"receiver":"oncall","groupWait":"0s"}]},
             "receivers":[{"name":"oncall","channels":[],"escalationPolicy":"p-{{id}}"}]}
            """, HttpStatusCode.OK);
        await Created(http, "/api/rules", $$"""{"id":"errors-{{id}}","name":"Errors {{id}}","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"t":"{{id}}"} }""");
        await Created(http, "/api/rules", $$"""{"id":"slow-{{id}}","name":"Slow {{id}}","condition":"p95_response_time > 2","severity":"warning","channels":[],"selector":{"t":"{{id}}"} }""");
        await Created(http, "/api/servers", $$"""{"id":"s-{{id}}","name":"Search","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // every silo's routing copy has the new tree (refreshed each second)

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await SendAsync(http, HttpMethod.Post, $"/api/servers/s-{id}/telemetry",
            """{"requests":[{"method":"tools/call","tool":"search","durationMs":3000,"success":false},{"method":"tools/call","tool":"search","durationMs":3500,"success":false}]}""",
            HttpStatusCode.Accepted);

        // Two incidents (one per alert name), each paging cat at once by direct message.
        var pages = await hooks.WaitForAsync(post, 2, TimeSpan.FromSeconds(30));
        var pagedAt = clock.Elapsed;
        Assert.All(pages, p => Assert.Equal(Slack("cat"), p.Body.GetProperty("channel").GetString()));
        string Value(ReceivedHook page) => page.Body.GetProperty("attachments")[0].GetProperty("blocks").EnumerateArray()
            .Single(b => b.GetProperty("type").GetString() == "actions").GetProperty("elements")[0].GetProperty("value").GetString()!;
        var errorsPage = pages.Single(p => p.Body.GetProperty("text").GetString()!.Contains($"Errors {id}"));
        var acknowledged = Value(errorsPage).Split('|')[1];

        // cat clicks Acknowledge on the Errors page.
        var body = SlackClicks.Body(Slack("cat"), "cat", "D0DM", "1700000000.000001", "acknowledge", Value(errorsPage));
        using (var click = await SlackClicks.SendAsync(http, Secret, body, DateTimeOffset.UtcNow.ToUnixTimeSeconds()))
        {
            Assert.True(click.StatusCode == HttpStatusCode.OK, await click.Content.ReadAsStringAsync());
        }
        var incident = await http.GetFromJsonAsync<JsonElement>($"/api/incidents/{acknowledged}");
        Assert.Equal("acknowledged", incident.GetProperty("status").GetString());
        Assert.Equal($"cat-{id} (Slack {Slack("cat")})", incident.GetProperty("acknowledgedBy").GetString());

        // 20 s on, the lead is paged for the Slow incident only, once.
        var lead = (await hooks.WaitForAsync($"/{id}/lead", 1, TimeSpan.FromSeconds(60))).Single();
        var escalatedAt = clock.Elapsed;
        Assert.Contains($"Slow {id}", lead.Body.GetProperty("context").GetProperty("subject").GetString());
        Assert.Equal($"lead-{id}", lead.Body.GetProperty("recipient").GetProperty("user").GetString());
        Assert.True(escalatedAt - pagedAt > TimeSpan.FromSeconds(15), $"the backup was paged {escalatedAt - pagedAt} after the first page");
        await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/lead").Count > 1, "a second page of the lead", TimeSpan.FromSeconds(5));
        var timeline = (await http.GetFromJsonAsync<JsonElement>($"/api/incidents/{acknowledged}")).GetProperty("timeline").ToString();
        Assert.Contains($"paged cat-{id} (schedule sch-{id}) by slack at once", timeline);
        output.WriteLine($"2 incidents paged cat (the override, in place of {scheduled}) by Slack DM {pagedAt.TotalSeconds:F1}s after the breach; " +
            $"cat's Slack click acknowledged one; the lead was paged for the other only, {escalatedAt.TotalSeconds:F1}s after the breach");
    }
}
