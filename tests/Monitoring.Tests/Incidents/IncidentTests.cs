using Microsoft.AspNetCore.Http;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Routing;
using Orleans.Core.Internal;
using Orleans.Storage;
using Monitoring.Settings;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Incidents;

/// <summary>
/// Incidents through the real API on the fake clock: a fleet-wide breach is one message, updates come at group
/// intervals, acknowledgement and escalation act on the incident, inhibition and time intervals hold messages back.
/// Each test routes only its own alerts (matched by the scenario's label), under a tree it puts first.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class IncidentTests(ApiFixture api)
{
    /// <summary>Routes this scenario's alerts (its servers, t=id, and its rules, *-id) to a receiver; <paramref name="route"/> and <paramref name="receiver"/> add fields.</summary>
    private static async Task RouteAsync(ApiScenario s, string channels, string route = "", string receiver = "")
    {
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}","rule_id=~.*-{{s.Id}}"],"receiver":"ops-{{s.Id}}"{{route}} }]},
             "receivers":[{"name":"ops-{{s.Id}}","channels":[{{channels}}]{{receiver}} }]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Servers labelled with the scenario's id, not probed: hundreds of them must not load the shared cluster for the tests after.</summary>
    private static async Task<string[]> ServersAsync(ApiScenario s, int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{s.ServerId}-{i:000}").ToArray();
        foreach (var chunk in ids.Chunk(16))
        {
            await Task.WhenAll(chunk.Select(async id =>
            {
                var response = await s.Http.PostJsonAsync("/api/servers",
                    $$"""{"id":"{{id}}","name":"Search","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"{{s.Id}}","env":"prod"},"probe":{"enabled":false} }""");
                Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            }));
        }
        return ids;
    }

    private static JsonElement Incident(ReceivedHook hook) => hook.Body.GetProperty("incident");

    /// <summary>
    /// A timer due exactly now runs only once the fake clock moves past it: nudges the clock a second at a time until
    /// the incident has looked at the present, so what the test does next falls in the next group interval.
    /// </summary>
    private async Task SettledAsync(ApiScenario s, string incidentId)
    {
        try
        {
            await s.AdvanceUntilAsync(async () =>
            {
                var view = await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync();
                return view.GetProperty("nextNotificationAt") is { ValueKind: JsonValueKind.String } next && next.GetDateTimeOffset() > api.Time.GetUtcNow();
            }, "the incident's timer catching up with the clock", TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + string.Join("\n", api.Logs.Lines.Where(l => l.Contains(incidentId)).TakeLast(8)));
        }
    }

    [Fact]
    public async Task An_incident_put_away_while_it_waits_out_its_group_wait_is_woken_on_time()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"");
        var server = (await ServersAsync(s, 1))[0];
        await s.RuleAsync(""" "channels":[]""");
        await s.FireAsync(server);
        string? incidentId = null;
        await Eventually.TrueAsync(async () => (await s.AlertAsync(s.AlertIdFor(server))).TryGetProperty("incidents", out var ids)
            && ids.GetArrayLength() == 1 && (incidentId = ids[0].GetString()) is not null, "the alert in its incident");
        var wakeups = api.Services.GetRequiredService<IncidentWakeups>();
        Assert.True(wakeups.Count >= 1);

        // The silo puts the incident away (idle, or short of memory) before its group wait ends: a timer of its own
        // would go with it, and only the reminder, a minute or more later, would bring it back. The silo's wake-up stays.
        var incident = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IIncidentGrain>(incidentId!);
        await incident.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Empty(s.Hooks("ops"));
        await s.AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
        var first = (await s.WaitForHooksAsync("ops", 1)).Single();
        Assert.Equal(incidentId, Incident(first).GetProperty("id").GetString());
        Assert.Equal(1, Incident(first).GetProperty("firing").GetInt32());
    }

    [Fact]
    public async Task Five_hundred_servers_breaching_together_page_once_update_once_and_resolve_once()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"", receiver: ""","maxAlerts":500""");
        var servers = await ServersAsync(s, 500);
        await s.RuleAsync(""" "channels":[]""");

        foreach (var chunk in servers.Chunk(32)) await Task.WhenAll(chunk.Select(id => s.FireAsync(id)));
        await Eventually.TrueAsync(async () => (await s.AlertAsync(s.AlertIdFor(servers[^1]))).TryGetProperty("status", out var st) && st.GetString() == "firing", "the last alert firing");
        Assert.Empty(s.Hooks("ops")); // group_wait holds the first message

        await s.AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
        var first = (await s.WaitForHooksAsync("ops", 1)).Single();
        var incident = Incident(first);
        Assert.Equal(500, incident.GetProperty("firing").GetInt32());
        Assert.Equal(500, incident.GetProperty("alerts").GetArrayLength());
        Assert.Equal(0, incident.GetProperty("truncated_alerts").GetInt32());
        Assert.Equal("High error rate", incident.GetProperty("group_labels").GetProperty("alertname").GetString());
        Assert.StartsWith("[FIRING:500] High error rate", first.Body.GetProperty("context").GetProperty("subject").GetString());

        // Nothing changed: nothing more, however long it fires (short of the 4h repeat).
        await s.AdvanceAsync(TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(5));
        await Eventually.StaysFalseAsync(() => s.Hooks("ops").Count > 1, "a second message with nothing changed");

        // Every alert links to the one incident, which lists them all.
        var incidentId = incident.GetProperty("id").GetString()!;
        await SettledAsync(s, incidentId);
        Assert.Equal(incidentId, (await s.AlertAsync(s.AlertIdFor(servers[7]))).GetProperty("incidents")[0].GetString());
        var view = await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync();
        Assert.Equal("open", view.GetProperty("status").GetString());
        Assert.Equal(500, view.GetProperty("firing").GetInt32());

        // 100 recover: one update at the next group interval.
        foreach (var chunk in servers.Take(100).Chunk(32)) await Task.WhenAll(chunk.Select(id => s.ClearAsync(id)));
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("firing").GetInt32() == 400, "100 alerts resolved", TimeSpan.FromSeconds(60)); // hundreds of resolutions, each three grain calls: a loaded machine takes longer than the default 15 s
        await s.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
        var update = (await s.WaitForHooksAsync("ops", 2))[1];
        Assert.Equal(400, Incident(update).GetProperty("firing").GetInt32());
        Assert.Equal(100, Incident(update).GetProperty("resolved").GetInt32());
        await s.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
        await Eventually.StaysFalseAsync(() => s.Hooks("ops").Count > 2, "another update with nothing changed");
        await SettledAsync(s, incidentId);

        // All recover: one resolved message.
        foreach (var chunk in servers.Skip(100).Chunk(32)) await Task.WhenAll(chunk.Select(id => s.ClearAsync(id)));
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("firing").GetInt32() == 0, "every alert resolved", TimeSpan.FromSeconds(60)); // hundreds of resolutions, each three grain calls: a loaded machine takes longer than the default 15 s
        await s.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
        var resolved = (await s.WaitForHooksAsync("ops", 3))[2];
        Assert.Equal("resolved", resolved.Body.GetProperty("context").GetProperty("notification").GetString());
        Assert.Equal(0, Incident(resolved).GetProperty("firing").GetInt32());
        await Eventually.StaysFalseAsync(() => s.Hooks("ops").Count > 3, "more than three messages for the storm");

        view = await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync();
        Assert.Equal("resolved", view.GetProperty("status").GetString());
        var listed = await (await s.Http.GetAsync($"/api/incidents?label=t={s.Id}&status=resolved")).JsonAsync();
        // The index is written behind; its entry for this incident is there.
        Assert.True(listed.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("id").GetString() == incidentId)
            || (await (await s.Http.GetAsync("/api/incidents?status=resolved&limit=1000")).JsonAsync()).GetProperty("items").EnumerateArray().Any(i => i.GetProperty("id").GetString() == incidentId));
    }

    [Fact]
    public async Task The_incident_list_says_what_the_incident_says_as_soon_as_its_alerts_resolve()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: ""","groupWait":"0s" """);
        var servers = await ServersAsync(s, 2);
        await s.RuleAsync(""" "channels":[]""");
        foreach (var id in servers) await s.FireAsync(id);
        var incidentId = Incident((await s.WaitForHooksAsync("ops", 1)).Single()).GetProperty("id").GetString()!;
        await Eventually.TrueAsync(async () => Listed(await ListedAsync()) == ("open", 2), "the list showing both alerts firing", every: TimeSpan.FromMilliseconds(100));

        // No clock moves: the next group interval (when the resolved message goes) is minutes away.
        foreach (var id in servers) await s.ClearAsync(id);
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("firing").GetInt32() == 0,
            "the incident's alerts resolved");
        await Eventually.TrueAsync(async () => Listed(await ListedAsync()).Firing == 0, "the list showing no alert firing", every: TimeSpan.FromMilliseconds(100));
        Assert.Single(s.Hooks("ops"));

        async Task<JsonElement?> ListedAsync() =>
            (await (await s.Http.GetAsync("/api/incidents?limit=1000")).JsonAsync()).GetProperty("items").EnumerateArray()
                .Where(i => i.GetProperty("id").GetString() == incidentId).Select(i => (JsonElement?)i).SingleOrDefault();
        static (string? Status, int Firing) Listed(JsonElement? item) =>
            item is { } i ? (i.GetProperty("status").GetString(), i.GetProperty("firing").GetInt32()) : (null, -1);
    }

    [Fact]
    public async Task Acknowledging_the_incident_stops_its_escalation_and_a_new_alert_in_it_does_not_page()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await s.WebhookChannelAsync($"boss-{s.Id}", "boss");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/escalation-policies", $$"""
            {"id":"p-{{s.Id}}","name":"On-call","levels":[{"delay":"10m","channels":["boss-{{s.Id}}"]}]}
            """)).StatusCode);
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: ""","groupWait":"10s","groupInterval":"1m" """, receiver: $$""","escalationPolicy":"p-{{s.Id}}" """);
        var servers = await ServersAsync(s, 4);
        await s.RuleAsync(""" "channels":[]""");

        // Unacknowledged, the policy's second level hears about the incident once, after 10 minutes.
        foreach (var id in servers.Take(2)) await s.FireAsync(id);
        await s.AdvanceUntilAsync(() => s.Hooks("ops").Count == 1, "the first message", TimeSpan.FromSeconds(10));
        var incidentId = Incident(s.Hooks("ops")[0]).GetProperty("id").GetString()!;
        try
        {
            await s.AdvanceUntilAsync(() => s.Hooks("boss").Count == 1, "the escalation", TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            Assert.Fail(await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).Content.ReadAsStringAsync());
        }
        var escalation = s.Hooks("boss")[0];
        Assert.Equal(2, Incident(escalation).GetProperty("firing").GetInt32());
        Assert.Equal(1, escalation.Body.GetProperty("context").GetProperty("escalation_level").GetInt32());

        var ack = await s.Http.PostJsonAsync($"/api/incidents/{incidentId}/ack", """{"by":"alice"}""");
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("acknowledged", (await ack.JsonAsync()).GetProperty("status").GetString());
        // Its alerts are acknowledged too.
        await Eventually.TrueAsync(async () => (await s.AlertAsync(s.AlertIdFor(servers[0]))).GetProperty("status").GetString() == "acknowledged", "the alert acknowledged");

        // A new alert joins the acknowledged incident: no page, no update.
        await s.FireAsync(servers[2]);
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("alerts").GetArrayLength() == 3, "the third alert joining");
        await s.AdvanceAsync(TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(1));
        await Eventually.StaysFalseAsync(() => s.Hooks("ops").Count > 1 || s.Hooks("boss").Count > 1, "a page after the acknowledgement");
        var timeline = (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("text").GetString()).ToArray();
        Assert.Contains(timeline, t => t!.Contains("acknowledged by alice"));

        // Resolving the incident by hand resolves its alerts and tells the channel once.
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/incidents/{incidentId}/resolve", """{"by":"alice"}""")).StatusCode);
        await s.WaitForHooksAsync("ops", 2);
        Assert.Equal("resolved", s.Hooks("ops")[1].Body.GetProperty("context").GetProperty("notification").GetString());
        await Eventually.TrueAsync(async () => (await s.AlertAsync(s.AlertIdFor(servers[2]))).GetProperty("status").GetString() == "resolved", "the alerts resolved");
        Assert.Equal(HttpStatusCode.Conflict, (await s.Http.PostJsonAsync($"/api/incidents/{incidentId}/ack", "{}")).StatusCode);
    }

    [Fact]
    public async Task A_firing_source_inhibits_its_targets_on_the_same_server()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: ""","groupBy":["server_id"],"groupWait":"10s" """);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/inhibitions", $$"""
            {"id":"down-{{s.Id}}","sourceMatchers":["alertname=Down {{s.Id}}"],"targetMatchers":["t={{s.Id}}","severity=warning"],"equal":["server_id"]}
            """)).StatusCode);
        var servers = await ServersAsync(s, 2);
        // Server 0 is down and slow; server 1 only slow. Down inhibits slow on the same server only.
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/rules", $$"""
            {"id":"down-{{s.Id}}","name":"Down {{s.Id}}","condition":"error_rate > 0.5","severity":"critical","cooldown":"0s","escalateAfter":"off","channels":[],"selector":{"t":"{{s.Id}}","down":"yes"} }
            """)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/rules", $$"""
            {"id":"slow-{{s.Id}}","name":"Slow {{s.Id}}","condition":"error_rate > 0.05","severity":"warning","cooldown":"0s","escalateAfter":"off","channels":[],"selector":{"t":"{{s.Id}}"} }
            """)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PutJsonAsync($"/api/servers/{servers[0]}", $$"""
            {"name":"Search","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"{{s.Id}}","env":"prod","down":"yes"},"probe":{"enabled":false} }
            """)).StatusCode);
        foreach (var id in servers) await s.FireAsync(id);

        await Eventually.TrueAsync(async () => (await s.AlertAsync($"slow-{s.Id}:{servers[0]}")).TryGetProperty("inhibitedBy", out var by) && by.GetString() == $"down-{s.Id}:{servers[0]}",
            "the slow alert on server 0 inhibited by its down alert");
        Assert.Equal(JsonValueKind.Null, (await s.AlertAsync($"slow-{s.Id}:{servers[1]}")).GetProperty("inhibitedBy").ValueKind);

        await s.AdvanceUntilAsync(() => s.Hooks("ops").Count >= 2, "one message per server's incident", TimeSpan.FromSeconds(10));
        await s.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10));
        var hooks = s.Hooks("ops");
        Assert.Equal(2, hooks.Count);
        var listed = hooks.SelectMany(h => Incident(h).GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetString())).Order().ToArray();
        Assert.Equal(new[] { $"down-{s.Id}:{servers[0]}", $"slow-{s.Id}:{servers[1]}" }.Order(), listed);
    }

    /// <summary>
    /// The firing inhibitors are stored behind (within a second): the grain that holds them, lost (moved to another silo,
    /// or put away), comes back with them, so its target stays inhibited rather than paging until the sources say
    /// themselves again a reminder period later.
    /// </summary>
    [Fact]
    public async Task The_firing_inhibitors_outlive_their_activation()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: ""","groupBy":["server_id"],"groupWait":"10s" """);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/inhibitions", $$"""
            {"id":"down-{{s.Id}}","sourceMatchers":["alertname=Down {{s.Id}}"],"targetMatchers":["t={{s.Id}}","severity=warning"],"equal":["server_id"]}
            """)).StatusCode);
        var server = (await ServersAsync(s, 1))[0];
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/rules", $$"""
            {"id":"down-{{s.Id}}","name":"Down {{s.Id}}","condition":"error_rate > 0.5","severity":"critical","cooldown":"0s","escalateAfter":"off","channels":[],"selector":{"t":"{{s.Id}}"} }
            """)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/rules", $$"""
            {"id":"slow-{{s.Id}}","name":"Slow {{s.Id}}","condition":"error_rate > 0.05","severity":"warning","cooldown":"0s","escalateAfter":"off","channels":[],"selector":{"t":"{{s.Id}}"} }
            """)).StatusCode);
        await s.FireAsync(server);
        var source = $"down-{s.Id}:{server}";
        async Task<bool> Inhibited() => (await s.AlertAsync($"slow-{s.Id}:{server}")).TryGetProperty("inhibitedBy", out var by) && by.GetString() == source;
        await Eventually.TrueAsync(Inhibited, "the slow alert inhibited by the down alert");

        await s.AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500)); // stored behind, within a second
        var storage = api.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Rules);
        var inhibitors = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IInhibitorsGrain>(IInhibitorsGrain.Key);
        await Eventually.TrueAsync(async () =>
        {
            var stored = new GrainState<InhibitorsState>(new InhibitorsState());
            await storage.ReadStateAsync("inhibitors", inhibitors.GetGrainId(), stored);
            return stored.State!.Alerts.ContainsKey(source);
        }, "the source stored");
        await inhibitors.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        // Every silo's copy asks the new activation within a second: the target stays inhibited through it.
        for (var until = DateTime.UtcNow + TimeSpan.FromSeconds(3); DateTime.UtcNow < until; await Task.Delay(100))
        {
            Assert.True(await Inhibited(), "the target is no longer inhibited after the inhibitors moved");
        }
    }

    [Fact]
    public async Task A_mute_interval_holds_messages_until_it_ends_and_then_they_go_out_if_still_firing()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        // A window from the start of the fake clock's current hour to the end of it, in UTC.
        var now = api.Time.GetUtcNow();
        var hour = now.Hour;
        var window = $$"""{"name":"maint-{{s.Id}}","location":"UTC","timeIntervals":[{"times":[{"startTime":"{{hour:00}}:00","endTime":"{{(hour + 1):00}}:00"}]}]}""";
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/time-intervals", window)).StatusCode);
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: $$""","groupWait":"10s","groupInterval":"1m","muteTimeIntervals":["maint-{{s.Id}}"]""");
        Assert.Equal(HttpStatusCode.Conflict, (await s.Http.DeleteAsync($"/api/time-intervals/maint-{s.Id}")).StatusCode); // in use
        await s.ServerAndRuleAsync(""" "channels":[]""");
        await s.FireAsync();

        var end = new DateTimeOffset(now.Year, now.Month, now.Day, hour, 0, 0, TimeSpan.Zero).AddHours(1);
        while (api.Time.GetUtcNow() < end - TimeSpan.FromMinutes(1))
        {
            api.Time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(15);
        }
        await Eventually.StaysFalseAsync(() => s.Hooks("ops").Count > 0, "a message inside the mute interval");
        var incidents = await (await s.Http.GetAsync($"/api/incidents?label=alertname=High error rate")).Content.ReadAsStringAsync();
        var alert = await s.AlertAsync();
        Assert.True(alert.GetProperty("incidents").GetArrayLength() == 1, alert.ToString());
        var incidentId = alert.GetProperty("incidents")[0].GetString();
        try
        {
            await s.AdvanceUntilAsync(() => s.Hooks("ops").Count == 1, "the held message after the interval", TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            Assert.Fail((await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).Content.ReadAsStringAsync()) + " now " + api.Time.GetUtcNow());
        }
        Assert.True(api.Time.GetUtcNow() >= end, "sent only once the interval ended");
        Assert.Equal("firing", s.Hooks("ops")[0].Body.GetProperty("context").GetProperty("notification").GetString());
    }

    [Fact]
    public async Task Slack_gets_one_message_per_incident_and_its_updates_and_resolution_in_its_thread()
    {
        var s = new ApiScenario(api);
        var chat = s.Path("slack") + "/chat.postMessage";
        api.Webhooks.RespondWith(chat, hook => Results.Json(new { ok = true, channel = "C1", ts = hook.Body.TryGetProperty("thread_ts", out _) ? "1700000000.000200" : "1700000000.000100" }));
        await s.ChannelAsync($"ops-{s.Id}", "slack", $$"""{"token":"xoxb-1-2-t","channel":"#oncall","apiBaseUrl":"{{s.Url("slack")}}"}""");
        await RouteAsync(s, $"\"ops-{s.Id}\"", route: ""","groupWait":"10s","groupInterval":"1m" """);
        var servers = await ServersAsync(s, 3);
        await s.RuleAsync(""" "channels":[]""");
        foreach (var id in servers) await s.FireAsync(id);
        await Eventually.TrueAsync(async () => (await s.AlertAsync(s.AlertIdFor(servers[2]))).GetProperty("incidents").GetArrayLength() == 1, "the alerts joining");

        await s.AdvanceUntilAsync(() => api.Webhooks.At(chat).Count == 1, "the incident's message", TimeSpan.FromSeconds(10));
        var first = api.Webhooks.At(chat)[0];
        Assert.False(first.Body.TryGetProperty("thread_ts", out _));
        Assert.StartsWith("[FIRING:3] High error rate", first.Body.GetProperty("text").GetString());
        Assert.Contains("s-" + s.Id + "-002", first.RawBody);

        await s.ClearAsync(servers[0]);
        await s.AdvanceUntilAsync(() => api.Webhooks.At(chat).Count == 2, "the update", TimeSpan.FromSeconds(20));
        Assert.Equal("1700000000.000100", api.Webhooks.At(chat)[1].Body.GetProperty("thread_ts").GetString());
        Assert.StartsWith("[FIRING:2]", api.Webhooks.At(chat)[1].Body.GetProperty("text").GetString());

        foreach (var id in servers.Skip(1)) await s.ClearAsync(id);
        await s.AdvanceUntilAsync(() => api.Webhooks.At(chat).Count == 3, "the resolution", TimeSpan.FromSeconds(20));
        Assert.Equal("1700000000.000100", api.Webhooks.At(chat)[2].Body.GetProperty("thread_ts").GetString());
        Assert.StartsWith("[RESOLVED] High error rate", api.Webhooks.At(chat)[2].Body.GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_bad_tree_is_refused_with_the_path_of_each_field_and_changes_nothing()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        await RouteAsync(s, $"\"ops-{s.Id}\"");
        var before = await (await s.Http.GetAsync("/api/routing")).Content.ReadAsStringAsync();

        async Task Refused(string body, params string[] fields)
        {
            var detail = await (await s.Http.PutJsonAsync("/api/routing", body)).AssertProblemAsync(400);
            foreach (var field in fields) Assert.Contains(field + ":", detail);
        }
        await Refused("""{"route":{"routes":[{"receiver":"nobody"}]},"receivers":[]}""", "route.routes[0].receiver");
        await Refused("""{"route":{"routes":[{"matchers":["a=~(x"],"receiver":"r"}]},"receivers":[{"name":"r","channels":[]}]}""", "route.routes[0].matchers[0].value");
        await Refused("""{"route":{"groupWait":"soon"},"receivers":[]}""", "route.groupWait");
        await Refused("""{"route":{"routes":[{"grouBy":["a"]}]},"receivers":[]}""", "route.routes[0].grouBy");
        await Refused("""{"route":{"routes":[{"muteTimeIntervals":["never-made"]}]},"receivers":[]}""", "route.routes[0].muteTimeIntervals[0]");
        await Refused($$"""{"route":{"receiver":"r"},"receivers":[{"name":"r","channels":["no-such-{{s.Id}}"]}]}""", "receivers[0].channels[0]");
        await Refused("""{"route":{"matchers":["a=b"]},"receivers":[]}""", "route.matchers");
        Assert.Equal(before, await (await s.Http.GetAsync("/api/routing")).Content.ReadAsStringAsync());

        // The tester answers which routes a label set takes, as amtool config routes test does.
        var test = await (await s.Http.PostJsonAsync("/api/routing/test", $$"""{"labels":{"t":"{{s.Id}}","rule_id":"r-{{s.Id}}","alertname":"X"} }""")).JsonAsync();
        var route = test.GetProperty("routes").EnumerateArray().Single();
        Assert.Equal($"ops-{s.Id}", route.GetProperty("receiver").GetString());
        Assert.Equal("root/0", route.GetProperty("route").GetString());
        Assert.Equal("X", route.GetProperty("groupLabels").GetProperty("alertname").GetString());
        await (await s.Http.PostJsonAsync("/api/routing/test", """{"labels":{"a":1}}""")).AssertProblemAsync(400);

        await (await s.Http.PostJsonAsync("/api/time-intervals", """{"name":"x","timeIntervals":[{"weekdays":["funday"]}]}""")).AssertProblemAsync(400);
        await (await s.Http.PostJsonAsync("/api/time-intervals", """{"name":"x","location":"Mars/Olympus","timeIntervals":[{"weekdays":["monday"]}]}""")).AssertProblemAsync(400);
        await (await s.Http.PostJsonAsync("/api/inhibitions", """{"id":"x","sourceMatchers":["a=b"]}""")).AssertProblemAsync(400);
        await (await s.Http.GetAsync("/api/incidents/inc-nothing")).AssertProblemAsync(404);
        await (await s.Http.GetAsync("/api/incidents?status=burning")).AssertProblemAsync(400);
    }
}
