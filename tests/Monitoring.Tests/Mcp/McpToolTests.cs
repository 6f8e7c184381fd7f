using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Mcp;

/// <summary>
/// An agent works an outage through /mcp with the official client, as it would: what is wrong, where, why, and then
/// acts. The open embedded mode acts as the console does (every tool).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class McpToolTests(ApiFixture api)
{
    [Fact]
    public async Task An_agent_finds_the_failing_server_explains_its_alert_and_acknowledges_its_incident()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "rule");
        await s.ServerAndRuleAsync($"\"channels\":[\"c-{s.Id}\"]");
        await s.FireAsync();
        await s.WaitForHooksAsync("rule", 1);
        // An incident too: an Alertmanager-API alert routed to a receiver of this test.
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        var routing = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}"],"receiver":"am-{{s.Id}}","groupWait":"1s"}]},
             "receivers":[{"name":"am-{{s.Id}}","channels":["am-{{s.Id}}"]}]}
            """);
        Assert.True(routing.StatusCode == HttpStatusCode.OK, await routing.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync("/api/v2/alerts", $$"""[{"labels":{"alertname":"GatewayDown","t":"{{s.Id}}"} }]""")).StatusCode);
        await s.AdvanceUntilAsync(() => s.Hooks("am").Count >= 1, "the incident's first message", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));
        var incidentId = s.Hooks("am")[0].Body.GetProperty("incident").GetProperty("id").GetString()!;

        await using var agent = await McpClients.ConnectAsync(api.Http);

        var fleet = await agent.CallAsync("fleet_status", new() { ["worst"] = 50 });
        Assert.True(fleet.GetProperty("servers").GetInt32() >= 1);
        Assert.True(fleet.GetProperty("openAlertsByStatus").GetProperty("firing").GetInt32() >= 1);
        Assert.True(fleet.GetProperty("openIncidents").GetInt32() >= 1);

        var found = await agent.CallAsync("find_servers", new() { ["labels"] = new[] { $"t={s.Id}" } });
        Assert.Equal(1, found.GetProperty("total").GetInt32());
        Assert.Equal(s.ServerId, found.GetProperty("items")[0].GetProperty("id").GetString());
        Assert.True(found.GetProperty("items")[0].GetProperty("openAlerts").GetInt32() >= 1); // other tests' rules select every server too

        var server = await agent.CallAsync("server_details", new() { ["server_id"] = s.ServerId });
        Assert.Contains(s.AlertId, server.GetProperty("openAlerts").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("100 %", server.GetProperty("metrics").GetProperty("error_rate").GetString());
        Assert.Contains(server.GetProperty("recentTransitions").EnumerateArray(), t => t.GetProperty("to").GetString() == "firing");

        var alerts = await agent.CallAsync("list_alerts", new() { ["server_id"] = s.ServerId });
        var line = Assert.Single(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("id").GetString() == s.AlertId);
        Assert.Equal((s.AlertId, "firing", "critical"), (line.GetProperty("id").GetString(), line.GetProperty("status").GetString(), line.GetProperty("severity").GetString()));

        var why = await agent.CallAsync("explain_alert", new() { ["alert_id"] = s.AlertId });
        Assert.Equal("error_rate > 0.05", why.GetProperty("rule").GetProperty("condition").GetString());
        Assert.Equal("100 %", why.GetProperty("values").GetProperty("error_rate").GetString());
        Assert.StartsWith("Firing since", why.GetProperty("why").GetString());
        var sent = Assert.Single(why.GetProperty("sent").EnumerateArray());
        Assert.Equal(($"c-{s.Id}", "firing", "delivered"), (sent.GetProperty("channel").GetString(), sent.GetProperty("kind").GetString(), sent.GetProperty("state").GetString()));

        var incidents = await agent.CallAsync("list_incidents", new() { ["limit"] = 50 });
        Assert.Contains(incidents.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == incidentId);
        var incident = await agent.CallAsync("incident_details", new() { ["incident_id"] = incidentId });
        Assert.Equal("open", incident.GetProperty("status").GetString());
        Assert.Equal(1, incident.GetProperty("alertCount").GetInt32());
        Assert.NotEmpty(incident.GetProperty("timeline").EnumerateArray());
        Assert.Contains(incident.GetProperty("sent").EnumerateArray(), n => n.GetProperty("channel").GetString() == $"am-{s.Id}");

        // Acting: acknowledge the incident, resolve the alert; both as the console would, and audited.
        var ack = await agent.CallAsync("acknowledge", new() { ["target_id"] = incidentId });
        Assert.Contains("agent via MCP", ack.GetProperty("outcome").GetString());
        var acknowledged = await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync();
        Assert.Equal(("acknowledged", "agent via MCP"), (acknowledged.GetProperty("status").GetString(), acknowledged.GetProperty("acknowledgedBy").GetString()));
        await agent.CallAsync("resolve", new() { ["target_id"] = s.AlertId });
        Assert.Equal("resolved", await s.StatusAsync());
        var audit = (await (await s.Http.GetAsync($"/api/audit?resourceId={Uri.EscapeDataString(s.AlertId)}")).JsonAsync()).GetProperty("items");
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("actor").GetString() == "agent via MCP" && e.GetProperty("action").GetString() == "resolve alert");

        // check_server_now probes at once (the test server's endpoint does not answer: the probe says so).
        var checkedNow = await agent.CallAsync("check_server_now", new() { ["server_id"] = s.ServerId });
        Assert.Equal(s.ServerId, checkedNow.GetProperty("id").GetString());
        Assert.NotEqual(JsonValueKind.Null, checkedNow.GetProperty("lastProbe").ValueKind);
    }

    [Fact]
    public async Task An_agent_asks_who_is_on_call_now_and_at_a_time_across_the_change_to_summer_time()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"pager-{s.Id}", "pager");
        foreach (var user in new[] { "ann", "ben" })
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/users",
                $$"""{"id":"{{user}}-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"pager-{{s.Id}}"}]}""")).StatusCode);
        }
        Assert.Equal(System.Net.HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{s.Id}}","timeZone":"Europe/Berlin","layers":[{"name":"weekly","users":["ann-{{s.Id}}","ben-{{s.Id}}"],"start":"2026-03-02T09:00","shift":"1w"}]}""")).StatusCode);
        await using var agent = await McpClients.ConnectAsync(api.Http);
        var sunday = await agent.CallAsync("who_is_on_call", new() { ["schedule"] = $"sch-{s.Id}", ["at"] = "2026-03-29T12:00:00+02:00" });
        var line = sunday.GetProperty("items")[0];
        Assert.Equal($"ben-{s.Id}", line.GetProperty("onCall")[0].GetString());
        Assert.Equal($"ann-{s.Id}", line.GetProperty("next")[0].GetString());
        var all = await agent.CallAsync("who_is_on_call");
        Assert.Contains(all.GetProperty("items").EnumerateArray(), i => i.GetProperty("schedule").GetString() == $"sch-{s.Id}");
    }

    [Fact]
    public async Task Bad_calls_are_tool_errors_that_say_what_to_fix_and_change_nothing()
    {
        await using var agent = await McpClients.ConnectAsync(api.Http);
        var silences = await api.Http.GetStringAsync("/api/silences?limit=500");
        Assert.Contains("There is no server 'nope'", await agent.RefusedAsync("server_details", new() { ["server_id"] = "nope" }));
        Assert.Contains("not an id", await agent.RefusedAsync("server_details", new() { ["server_id"] = "../etc/passwd" }));
        Assert.Contains("'server_id' must be a string", await agent.RefusedAsync("server_details", new() { ["server_id"] = 42 }));
        Assert.Contains("'server_id' is required", await agent.RefusedAsync("server_details"));
        Assert.Contains("'worst' must be an integer", await agent.RefusedAsync("fleet_status", new() { ["worst"] = "ten" }));
        Assert.Contains("give 1 to 50", await agent.RefusedAsync("list_alerts", new() { ["limit"] = 5000 }));
        Assert.Contains("expected one of", await agent.RefusedAsync("list_alerts", new() { ["status"] = "on-fire" }));
        Assert.Contains("'colour' is not an argument", await agent.RefusedAsync("fleet_status", new() { ["colour"] = "red" }));
        Assert.Contains("label[0]", await agent.RefusedAsync("find_servers", new() { ["labels"] = new[] { "=broken" } }));
        Assert.Contains("no incident", await agent.RefusedAsync("incident_details", new() { ["incident_id"] = "inc-00000000000000000000" }));
        Assert.Contains("no alert", await agent.RefusedAsync("explain_alert", new() { ["alert_id"] = "r:s" }));
        Assert.Contains("neither an incident", await agent.RefusedAsync("acknowledge", new() { ["target_id"] = "hello" }));
        Assert.Contains("There is no alert", await agent.RefusedAsync("resolve", new() { ["target_id"] = "r-none:s-none" }));
        Assert.Contains("comment", await agent.RefusedAsync("create_silence", new() { ["matchers"] = new[] { "a=b" }, ["duration"] = "1h", ["comment"] = "" }));
        Assert.Contains("match every alert", await agent.RefusedAsync("create_silence", new() { ["matchers"] = new[] { "a=~.*" }, ["duration"] = "1h", ["comment"] = "x" }));
        Assert.Contains("duration", await agent.RefusedAsync("create_silence", new() { ["matchers"] = new[] { "a=b" }, ["duration"] = "forever", ["comment"] = "x" }));
        Assert.Contains("no silence", await agent.RefusedAsync("expire_silence", new() { ["silence_id"] = "none" }));
        Assert.Contains("There is no schedule 'none'", await agent.RefusedAsync("who_is_on_call", new() { ["schedule"] = "none" }));
        Assert.Contains("'at' must be an RFC 3339 time", await agent.RefusedAsync("who_is_on_call", new() { ["at"] = "tomorrow-ish" }));
        Assert.Equal(silences, await api.Http.GetStringAsync("/api/silences?limit=500"));
    }
}
