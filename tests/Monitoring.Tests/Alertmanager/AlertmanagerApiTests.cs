using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Channels;
using Monitoring.External;
using Monitoring.Routing;
using Monitoring.Settings;
using Orleans.Core.Internal;
using Orleans.Storage;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Alertmanager;

/// <summary>
/// The Alertmanager API v2 through the real API on the fake clock: Prometheus's semantics for posted alerts (leases,
/// merging, zero times, partial batches), routing into incidents, silences shared with the product's API, status and
/// receivers; every answer checked against Alertmanager's own OpenAPI schema.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class AlertmanagerApiTests(ApiFixture api)
{
    private static async Task RouteAsync(ApiScenario s, string route = "")
    {
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}"],"receiver":"am-{{s.Id}}","groupWait":"10s","groupInterval":"1m"{{route}} }]},
             "receivers":[{"name":"am-{{s.Id}}","channels":["am-{{s.Id}}"]}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task PostAsync(ApiScenario s, string url, string json)
    {
        var response = await s.Http.PostJsonAsync(url, json);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> PostForJsonAsync(ApiScenario s, string url, string json)
    {
        var response = await s.Http.PostJsonAsync(url, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<JsonElement[]> AlertsAsync(ApiScenario s, string query = "")
    {
        var response = await s.Http.GetAsync($"/api/v2/alerts?filter=t%3D%22{s.Id}%22{query}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        AlertmanagerSchema.AssertValid("gettableAlerts", json);
        return [.. json.EnumerateArray()];
    }

    [Fact]
    public async Task The_alerts_list_shows_the_products_own_alerts_with_their_labels_and_silences()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"]""");
        await s.FireAsync();
        await s.WaitForHooksAsync("hook", 1);

        var listed = await ListedAsync();
        var labels = listed.GetProperty("labels");
        Assert.Equal("High error rate", labels.GetProperty("alertname").GetString());
        Assert.Equal(s.ServerId, labels.GetProperty("server_id").GetString());
        Assert.Equal("critical", labels.GetProperty("severity").GetString());
        Assert.Equal("prod", labels.GetProperty("env").GetString());
        Assert.Equal("active", listed.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal($"rule/{s.RuleId}", listed.GetProperty("receivers")[0].GetProperty("name").GetString());

        var silence = await s.Http.PostJsonAsync("/api/silences", $$"""{"matchers":["server_id={{s.ServerId}}"],"duration":"1h","createdBy":"alice","comment":"deploy"}""");
        var silenceId = (await silence.JsonAsync()).GetProperty("id").GetString();
        var muted = await ListedAsync();
        Assert.Equal("suppressed", muted.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal([silenceId], muted.GetProperty("status").GetProperty("silencedBy").EnumerateArray().Select(x => x.GetString()));
        Assert.Empty((await (await s.Http.GetAsync($"/api/v2/alerts?silenced=false&filter=alert_id%3D%22{Uri.EscapeDataString(s.AlertId)}%22")).JsonAsync()).EnumerateArray());

        async Task<JsonElement> ListedAsync()
        {
            var response = await s.Http.GetAsync($"/api/v2/alerts?filter=alert_id%3D%22{Uri.EscapeDataString(s.AlertId)}%22");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Assert.Single((await response.JsonAsync()).EnumerateArray());
        }
    }

    [Fact]
    public async Task Posted_alerts_are_grouped_into_one_message_and_resolve_when_their_lease_runs_out()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        await RouteAsync(s);
        var now = api.Time.GetUtcNow();
        // Prometheus's shape: no status, an end about four resend intervals ahead, nanosecond times.
        var ends = Time(now + TimeSpan.FromMinutes(4)).Replace("Z", "99Z");
        var response = await s.Http.PostJsonAsync("/api/v2/alerts", $$"""
            [{"labels":{"alertname":"GatewayDown","t":"{{s.Id}}","instance":"a:9090","severity":"critical"},"annotations":{"summary":"gateway a is down"},
              "startsAt":"{{Time(now)}}","endsAt":"{{ends}}","generatorURL":"http://prometheus:9090/graph?g0.expr=up"},
             {"labels":{"alertname":"GatewayDown","t":"{{s.Id}}","instance":"b:9090","severity":"critical"},"annotations":{"summary":"gateway b is down"},
              "startsAt":"{{Time(now)}}","endsAt":"{{ends}}","generatorURL":"http://prometheus:9090/graph?g0.expr=up"}]
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        var alerts = await AlertsAsync(s);
        Assert.Equal(2, alerts.Length);
        Assert.All(alerts, a => Assert.Equal("active", a.GetProperty("status").GetProperty("state").GetString()));
        Assert.All(alerts, a => Assert.Equal($"am-{s.Id}", a.GetProperty("receivers")[0].GetProperty("name").GetString()));
        Assert.Equal(16, alerts[0].GetProperty("fingerprint").GetString()!.Length);
        Assert.Equal("http://prometheus:9090/graph?g0.expr=up", alerts[0].GetProperty("generatorURL").GetString());

        // One group, one message after group_wait, listing both with their annotations.
        var groups = JsonDocument.Parse(await s.Http.GetStringAsync($"/api/v2/alerts/groups?filter=t%3D%22{s.Id}%22")).RootElement.Clone();
        AlertmanagerSchema.AssertValid("alertGroups", groups);
        Assert.Equal(1, groups.GetArrayLength());
        Assert.Equal("GatewayDown", groups[0].GetProperty("labels").GetProperty("alertname").GetString());
        Assert.Equal(2, groups[0].GetProperty("alerts").GetArrayLength());
        await s.AdvanceUntilAsync(() => s.Hooks("am").Count >= 1, "the first message", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(3));
        var first = s.Hooks("am")[0].Body.GetProperty("incident");
        Assert.Equal(2, first.GetProperty("firing").GetInt32());
        Assert.Contains("gateway a is down", first.GetRawText());

        // Prometheus stops re-sending (it was stopped): the lease runs out and the alerts resolve, one resolved message.
        await s.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(20));
        // The two alerts live in different partitions, each resolving on its own tick: an update listing one resolved
        // may come first (as Alertmanager's would at a group_interval); the incident then ends with one resolved message.
        static string Kind(ReceivedHook h) => h.Body.GetProperty("context").GetProperty("notification").GetString()!;
        await s.AdvanceUntilAsync(() => s.Hooks("am").Any(h => Kind(h) == "resolved"), "the resolved message after the lease", TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(10));
        var resolved = s.Hooks("am").Single(h => Kind(h) == "resolved");
        Assert.Equal(0, resolved.Body.GetProperty("incident").GetProperty("firing").GetInt32());
        Assert.Equal(2, resolved.Body.GetProperty("incident").GetProperty("resolved").GetInt32());
        Assert.Empty(await AlertsAsync(s));
    }

    [Fact]
    public async Task A_reminder_with_nothing_new_rewrites_no_incident_and_gives_back_a_join_the_incident_lost()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        await RouteAsync(s);
        var now = api.Time.GetUtcNow();
        await PostAsync(s, "/api/v2/alerts", $$"""
            [{"labels":{"alertname":"GatewayDown","t":"{{s.Id}}","instance":"a:9090"},"startsAt":"{{Time(now)}}","endsAt":"{{Time(now + TimeSpan.FromHours(2))}}"},
             {"labels":{"alertname":"GatewayDown","t":"{{s.Id}}","instance":"b:9090"},"startsAt":"{{Time(now)}}","endsAt":"{{Time(now + TimeSpan.FromHours(2))}}"}]
            """);
        await s.AdvanceUntilAsync(() => s.Hooks("am").Count >= 1, "the first message", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(3));
        var incidentId = s.Hooks("am")[0].Body.GetProperty("incident").GetProperty("id").GetString()!;
        Assert.Equal(2, s.Hooks("am")[0].Body.GetProperty("incident").GetProperty("firing").GetInt32());
        var fingerprints = (await AlertsAsync(s)).ToDictionary(a => a.GetProperty("labels").GetProperty("instance").GetString()!, a => a.GetProperty("fingerprint").GetString()!);
        await s.AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)); // what is stored behind (a second) is stored

        var grains = api.Services.GetRequiredService<IGrainFactory>();
        var storage = api.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Alerts);
        var incident = grains.GetGrain<IIncidentGrain>(incidentId);
        async Task<GrainState<IncidentState>> StoredIncidentAsync()
        {
            var stored = new GrainState<IncidentState>(new IncidentState());
            await storage.ReadStateAsync("incident", incident.GetGrainId(), stored);
            return stored;
        }
        async Task<long> StoredSequenceAsync(string instance)
        {
            var stored = await api.Services.GetRequiredService<IExternalAlertStore>().LoadAsync(ExternalAlerts.PartitionOf(fingerprints[instance]));
            return stored.Single(a => a.Key == fingerprints[instance]).Value.Sequence;
        }
        async Task RemindAsync()
        {
            var at = api.Time.GetUtcNow();
            var tick = new TickStatus(at.UtcDateTime, TimeSpan.FromMinutes(1), at.UtcDateTime);
            foreach (var fingerprint in fingerprints.Values) await ExternalAlerts.Partition(grains, fingerprint).AsReference<IRemindable>().ReceiveReminder("externalalerts", tick);
            await incident.AsReference<IRemindable>().ReceiveReminder("incident", tick);
            await s.AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
        }

        // Reminder periods with nothing new: each alert is said again to its incident, and neither it nor the incident writes.
        var before = await StoredIncidentAsync();
        var sequences = (await StoredSequenceAsync("a:9090"), await StoredSequenceAsync("b:9090"));
        for (var period = 0; period < 3; period++) await RemindAsync();
        Assert.Equal(before.ETag, (await StoredIncidentAsync()).ETag);
        Assert.Equal(sequences, (await StoredSequenceAsync("a:9090"), await StoredSequenceAsync("b:9090")));

        // The incident's silo died before b's join was stored: storage has the incident with a alone.
        await incident.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var lost = await StoredIncidentAsync();
        var b = ExternalAlerts.AlertId(fingerprints["b:9090"]);
        Assert.True(lost.State!.Members.Remove(b));
        await storage.WriteStateAsync("incident", incident.GetGrainId(), lost);
        async Task<int> FiringAsync() => (await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync()).GetProperty("firing").GetInt32();
        await Eventually.TrueAsync(async () => await FiringAsync() == 1, "the incident back from storage without b");

        // The next reminder says b again, with the sequence it had: the incident takes it back, and pages nobody again.
        await RemindAsync();
        Assert.Equal(2, await FiringAsync());
        Assert.True((await StoredIncidentAsync()).State!.Members.ContainsKey(b));
        Assert.Single(s.Hooks("am"));
    }

    [Fact]
    public async Task With_no_group_wait_an_incident_stores_its_opening_with_its_first_message_and_the_delivery_in_one_more_write()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}"],"receiver":"am-{{s.Id}}","groupWait":"0s"}]},
             "receivers":[{"name":"am-{{s.Id}}","channels":["am-{{s.Id}}"]}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var now = api.Time.GetUtcNow();
        await PostAsync(s, "/api/v2/alerts", $$"""
            [{"labels":{"alertname":"GatewayDown","t":"{{s.Id}}","instance":"a:9090"},"startsAt":"{{Time(now)}}","endsAt":"{{Time(now + TimeSpan.FromHours(2))}}"}]
            """);
        await Eventually.TrueAsync(() => s.Hooks("am").Count == 1, "the message, with no group wait");
        var incidentId = s.Hooks("am")[0].Body.GetProperty("incident").GetProperty("id").GetString()!;
        var incident = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IIncidentGrain>(incidentId);
        await Eventually.TrueAsync(async () => (await incident.GetAsync())!.Notifications.SingleOrDefault()?.State == DeliveryState.Delivered, "the delivery reported");
        await s.AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)); // the report is stored behind, within a second

        // One write for the opening, the message recorded and handed over; one for the channel's report, which also
        // stores that the channel took it (an incident's state is a few KB, and a storm opens thousands).
        var stored = new GrainState<IncidentState>(new IncidentState());
        await api.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Alerts).ReadStateAsync("incident", incident.GetGrainId(), stored);
        Assert.Equal("2", stored.ETag);
        Assert.Empty(stored.State!.Outbox);
        Assert.Equal(DeliveryState.Delivered, stored.State.Deliveries.Single().State);
    }

    [Fact]
    public async Task A_batch_keeps_its_valid_alerts_and_names_the_invalid_ones()
    {
        var s = new ApiScenario(api);
        var response = await s.Http.PostJsonAsync("/api/v2/alerts", $$"""
            [{"labels":{"alertname":"Good","t":"{{s.Id}}"} },
             {"labels":{} },
             {"labels":{"1bad":"x","t":"{{s.Id}}"} },
             {"labels":{"alertname":"Backwards","t":"{{s.Id}}"},"startsAt":"2030-01-02T00:00:00Z","endsAt":"2030-01-01T00:00:00Z"},
             {"labels":{"alertname":"BadTime","t":"{{s.Id}}"},"startsAt":"yesterday"}]
            """);
        var body = await response.Content.ReadAsStringAsync();
        await response.AssertProblemAsync(400);
        Assert.Contains("4 of 5 alerts are invalid", body);
        Assert.Contains("[1].labels", body);
        Assert.Contains("[2].labels.1bad", body);
        Assert.Contains("[3].endsAt", body);
        Assert.Contains("[4].startsAt", body);

        var alerts = await AlertsAsync(s);
        Assert.Equal("Good", Assert.Single(alerts).GetProperty("labels").GetProperty("alertname").GetString());
        // An empty batch is fine; a body that is not an array is not.
        await PostAsync(s, "/api/v2/alerts", "[]");
        await (await s.Http.PostJsonAsync("/api/v2/alerts", """{"labels":{"a":"b"}}""")).AssertProblemAsync(400);
    }

    [Fact]
    public async Task Re_sends_merge_as_in_Alertmanager_and_zero_or_past_ends_mean_what_they_mean_there()
    {
        var s = new ApiScenario(api);
        var now = api.Time.GetUtcNow();
        var labels = $$"""{"alertname":"Merge","t":"{{s.Id}}"}""";
        await PostAsync(s, "/api/v2/alerts", $$"""[{"labels":{{labels}},"startsAt":"{{Time(now - TimeSpan.FromMinutes(3))}}"}]""");
        // amtool sends Go's zero time for "no end": the resolve timeout (5m) applies, and the earliest start is kept.
        await PostAsync(s, "/api/v2/alerts",
            $$"""[{"labels":{{labels}},"startsAt":"{{Time(now - TimeSpan.FromMinutes(1))}}","endsAt":"0001-01-01T00:00:00Z"}]""");
        var alert = Assert.Single(await AlertsAsync(s));
        Assert.Equal(now - TimeSpan.FromMinutes(3), alert.GetProperty("startsAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        Assert.Equal(now + TimeSpan.FromMinutes(5), alert.GetProperty("endsAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));

        // An explicit end later than a defaulted one wins; an end in the past resolves it now.
        await PostAsync(s, "/api/v2/alerts",
            $$"""[{"labels":{{labels}},"startsAt":"{{Time(now)}}","endsAt":"{{Time(now + TimeSpan.FromMinutes(20))}}"}]""");
        Assert.Equal(now + TimeSpan.FromMinutes(20), Assert.Single(await AlertsAsync(s)).GetProperty("endsAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        await PostAsync(s, "/api/v2/alerts",
            $$"""[{"labels":{{labels}},"startsAt":"{{Time(now - TimeSpan.FromMinutes(3))}}","endsAt":"{{Time(now - TimeSpan.FromSeconds(1))}}"}]""");
        Assert.Empty(await AlertsAsync(s));
    }

    [Fact]
    public async Task Silences_are_one_set_through_both_APIs_and_update_as_Alertmanager_updates_them()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        await RouteAsync(s);
        await PostAsync(s, "/api/v2/alerts", $$"""[{"labels":{"alertname":"Quiet","t":"{{s.Id}}","instance":"x"} }]""");
        var now = api.Time.GetUtcNow();
        var silence = $$"""
            "matchers":[{"name":"t","value":"{{s.Id}}","isRegex":false,"isEqual":true}],"startsAt":"{{Time(now)}}","endsAt":"{{Time(now + TimeSpan.FromHours(1))}}","createdBy":"amtool","comment":"deploy"
            """;
        var created = await PostForJsonAsync(s, "/api/v2/silences", $"{{{silence}}}");
        var id = created.GetProperty("silenceID").GetString()!;

        // Listed through both APIs; the alert is suppressed by it (within the silence cache's refresh).
        var listed = JsonDocument.Parse(await s.Http.GetStringAsync($"/api/v2/silences?filter=t%3D%22{s.Id}%22")).RootElement.Clone();
        AlertmanagerSchema.AssertValid("gettableSilences", listed);
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        AlertmanagerSchema.AssertValid("gettableSilence", JsonDocument.Parse(await s.Http.GetStringAsync($"/api/v2/silence/{id}")).RootElement);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync($"/api/silences/{id}")).StatusCode);
        await s.AdvanceUntilAsync(async () => (await AlertsAsync(s)).Single().GetProperty("status").GetProperty("silencedBy").EnumerateArray().Any(x => x.GetString() == id),
            "the alert silenced", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal("suppressed", (await AlertsAsync(s)).Single().GetProperty("status").GetProperty("state").GetString());
        Assert.Empty(await AlertsAsync(s, "&silenced=false"));
        await s.AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));
        Assert.Empty(s.Hooks("am")); // silenced: no message

        // Same matchers: updated in place. Other matchers: the old one expires and a new one is made.
        var same = await PostForJsonAsync(s, "/api/v2/silences", $"{{\"id\":\"{id}\",{silence.Replace("deploy", "longer deploy")}}}");
        Assert.Equal(id, same.GetProperty("silenceID").GetString());
        var other = await PostForJsonAsync(s, "/api/v2/silences", $"{{\"id\":\"{id}\",{silence.Replace("\"isEqual\":true}]", "\"isEqual\":true},{\"name\":\"instance\",\"value\":\"x\",\"isRegex\":false}]")}}}");
        var otherId = other.GetProperty("silenceID").GetString()!;
        Assert.NotEqual(id, otherId);
        Assert.Equal("expired", (await (await s.Http.GetAsync($"/api/v2/silence/{id}")).JsonAsync()).GetProperty("status").GetProperty("state").GetString());

        // Expiring through the v2 API is seen by the product's.
        Assert.Equal(HttpStatusCode.OK, (await s.Http.DeleteAsync($"/api/v2/silence/{otherId}")).StatusCode);
        Assert.Equal("expired", (await (await s.Http.GetAsync($"/api/silences/{otherId}")).JsonAsync()).GetProperty("status").GetString());
        await (await s.Http.GetAsync($"/api/v2/silence/{Guid.NewGuid()}")).AssertProblemAsync(404);
        await (await s.Http.PostJsonAsync("/api/v2/silences", $"{{\"id\":\"{Guid.NewGuid()}\",{silence}}}")).AssertProblemAsync(404);
        await (await s.Http.PostJsonAsync("/api/v2/silences", """{"matchers":[],"startsAt":"x","endsAt":"","createdBy":"","comment":""}""")).AssertProblemAsync(400);
    }

    [Fact]
    public async Task Acknowledging_the_incident_shows_on_its_alerts_as_annotations()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        await RouteAsync(s);
        await PostAsync(s, "/api/v2/alerts", $$"""[{"labels":{"alertname":"AckMe","t":"{{s.Id}}"} }]""");
        await s.AdvanceUntilAsync(() => s.Hooks("am").Count >= 1, "the first message", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(3));
        var incidentId = s.Hooks("am")[0].Body.GetProperty("incident").GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostAsync($"/api/incidents/{incidentId}/ack", null)).StatusCode);
        await Eventually.TrueAsync(async () => (await AlertsAsync(s)).Single().GetProperty("annotations").TryGetProperty("acknowledged_by", out _),
            "the acknowledgement on the alert");
        var incident = await (await s.Http.GetAsync($"/api/incidents/{incidentId}")).JsonAsync();
        Assert.Equal("acknowledged", incident.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Status_and_receivers_have_Alertmanager_shapes_and_the_configuration_as_YAML()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"am-{s.Id}", "am");
        await RouteAsync(s);
        var status = JsonDocument.Parse(await s.Http.GetStringAsync("/api/v2/status")).RootElement.Clone();
        AlertmanagerSchema.AssertValid("alertmanagerStatus", status);
        var yaml = status.GetProperty("config").GetProperty("original").GetString()!;
        var config = (Dictionary<object, object>)new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<object>(yaml)!;
        var route = (Dictionary<object, object>)config["route"];
        var child = (Dictionary<object, object>)((List<object>)route["routes"])[0];
        Assert.Equal($"am-{s.Id}", child["receiver"]);
        Assert.Equal($"t=\"{s.Id}\"", ((List<object>)child["matchers"])[0]);
        Assert.Equal("10s", child["group_wait"]);
        Assert.Contains(((List<object>)config["receivers"]).Cast<Dictionary<object, object>>(), r => (string)r["name"] == $"am-{s.Id}");

        var receivers = JsonDocument.Parse(await s.Http.GetStringAsync("/api/v2/receivers")).RootElement.Clone();
        AlertmanagerSchema.AssertArrayOf("receiver", receivers);
        Assert.Contains(receivers.EnumerateArray(), r => r.GetProperty("name").GetString() == $"am-{s.Id}");

        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/-/healthy")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/-/ready")).StatusCode);
        Assert.Contains("alertmanager_build_info{", await s.Http.GetStringAsync("/metrics"));
        await (await s.Http.GetAsync("/api/v2/alerts?active=maybe")).AssertProblemAsync(400);
        await (await s.Http.GetAsync("/api/v2/alerts?filter=%7Bbroken")).AssertProblemAsync(400);
        await (await s.Http.GetAsync("/api/v2/alerts?receiver=%28")).AssertProblemAsync(400);
    }
}
