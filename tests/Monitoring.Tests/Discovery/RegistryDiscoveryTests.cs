using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Discovery;

/// <summary>
/// Servers registered from an MCP registry (a stand-in serving the MCP Registry API's documented list, since no registry
/// is reachable here): remotes become servers, paged through cursors; changes are read with updated_since; a deleted
/// entry deregisters its server and resolves its alert as deregistered; an outage changes nothing and backs off; a
/// server registered by hand is never touched.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class RegistryDiscoveryTests(ApiFixture api)
{
    private async Task<JsonElement> SyncAsync(ApiScenario s, string source)
    {
        var response = await s.Http.PostAsync($"/api/discovery/sources/{source}/sync", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync()).GetProperty("status");
    }

    [Fact]
    public async Task A_registry_s_remotes_become_servers_and_leave_when_their_entry_is_deleted_but_never_in_an_outage()
    {
        var s = new ApiScenario(api);
        await using var registry = await StandInRegistry.StartAsync(() => api.Time.GetUtcNow());
        var source = $"reg-{s.Id}";
        registry.Put("io.example/weather", ("streamable-http", "http://127.0.0.1:9/weather/mcp"), ("sse", "http://127.0.0.1:9/weather/sse"));
        registry.Put("io.example/local-only"); // a package to run locally, no remote: nothing to watch
        registry.Put("io.other/notes", ("streamable-http", "http://127.0.0.1:9/notes/mcp")); // not matched by the pattern
        registry.Put("io.example/clash", ("streamable-http", "http://127.0.0.1:9/clash/mcp"));
        for (var i = 0; i < 120; i++) registry.Put($"io.example/bulk-{i:000}", ("streamable-http", $"http://127.0.0.1:9/bulk/{i}"));
        // A server registered by hand under the id discovery would give the clash entry.
        var hand = await s.Http.PostJsonAsync("/api/servers", $$"""{"id":"{{source}}.io.example-clash","name":"Mine","endpoint":"http://127.0.0.1:9/mine","probe":{"enabled":false} }""");
        Assert.Equal(HttpStatusCode.Created, hand.StatusCode);

        var created = await s.Http.PostJsonAsync("/api/discovery/sources",
            $$"""{"id":"{{source}}","url":"{{registry.BaseUrl}}","interval":"1m","namePattern":"^io\\.example/","labels":{"team":"platform"} }""");
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var status = await SyncAsync(s, source);
        Assert.True(!status.TryGetProperty("lastError", out var error) || error.ValueKind == JsonValueKind.Null, status.ToString());
        Assert.Equal(122, status.GetProperty("servers").GetArrayLength()); // weather twice, 120 bulk
        Assert.Contains(status.GetProperty("skipped").EnumerateArray(), k => k.GetString()!.Contains("a server registered by hand has this id"));
        Assert.Contains(registry.Queries, q => q.Contains("cursor=")); // two pages of 100

        var weather = await (await s.Http.GetAsync($"/api/servers/{source}.io.example-weather")).JsonAsync();
        Assert.Equal("http://127.0.0.1:9/weather/mcp", weather.GetProperty("endpoint").GetString());
        Assert.Equal("platform", weather.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal(source, weather.GetProperty("labels").GetProperty("discovery_source").GetString());
        Assert.Equal(source, weather.GetProperty("discovered").GetProperty("source").GetString());
        Assert.Equal("sse", (await (await s.Http.GetAsync($"/api/servers/{source}.io.example-weather-2")).JsonAsync()).GetProperty("probe").GetProperty("transport").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/servers/{source}.io.other-notes")).StatusCode);
        var mine = await (await s.Http.GetAsync($"/api/servers/{source}.io.example-clash")).JsonAsync();
        Assert.Equal("Mine", mine.GetProperty("name").GetString());
        Assert.False(mine.TryGetProperty("discovered", out var d) && d.ValueKind != JsonValueKind.Null);

        // An alert on a discovered server.
        var rule = await s.Http.PostJsonAsync("/api/rules", $$"""{"id":"{{s.RuleId}}","name":"Errors","condition":"error_rate > 0.05","cooldown":"0s","selector":{"discovery_source":"{{source}}"},"channels":[]}""");
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        await s.FireAsync($"{source}.io.example-weather");
        var alertId = $"{s.RuleId}:{source}.io.example-weather";
        await Eventually.TrueAsync(async () => (await s.AlertAsync(alertId)).GetProperty("status").GetString() == "firing", "the alert to fire");

        // The registry is down: nothing is deregistered, and the next poll backs off.
        registry.Down = true;
        status = await SyncAsync(s, source);
        Assert.Equal(1, status.GetProperty("failures").GetInt32());
        Assert.Contains("503", status.GetProperty("lastError").GetString());
        Assert.Equal(api.Time.GetUtcNow() + TimeSpan.FromMinutes(2), status.GetProperty("nextSyncAt").GetDateTimeOffset());
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync($"/api/servers/{source}.io.example-weather")).StatusCode);
        Assert.Equal("firing", (await s.AlertAsync(alertId)).GetProperty("status").GetString());
        registry.Down = false;

        // The weather entry is deleted: read as a change since the last good poll, its servers go, and the alert resolves as deregistered.
        registry.Delete("io.example/weather");
        status = await SyncAsync(s, source);
        Assert.Equal(0, status.GetProperty("failures").GetInt32());
        Assert.Contains(registry.Queries, q => q.Contains("updated_since=") && q.Contains("include_deleted=true"));
        Assert.Equal(120, status.GetProperty("servers").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/servers/{source}.io.example-weather")).StatusCode);
        var alert = await s.AlertAsync(alertId);
        Assert.Equal("resolved", alert.GetProperty("status").GetString());
        Assert.Contains("deregistered", alert.GetProperty("transitions").EnumerateArray().Last().GetProperty("reason").GetString());

        // Deleting the source deregisters what it registered, and only that.
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/discovery/sources/{source}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/servers/{source}.io.example-bulk-007")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync($"/api/servers/{source}.io.example-clash")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_source_is_refused_at_its_field_and_nothing_is_made()
    {
        var s = new ApiScenario(api);
        foreach (var (body, field) in new[]
        {
            ($$"""{"id":"k-{{s.Id}}","kind":"consul","url":"http://127.0.0.1:9"}""", "kind"),
            ($$"""{"id":"u-{{s.Id}}","url":"registry.example.com"}""", "url"),
            ($$"""{"id":"p-{{s.Id}}","url":"http://127.0.0.1:9","namePattern":"("}""", "namePattern"),
            ($$"""{"id":"i-{{s.Id}}","url":"http://127.0.0.1:9","interval":"1s"}""", "interval"),
        })
        {
            var refused = await s.Http.PostJsonAsync("/api/discovery/sources", body);
            await refused.AssertProblemAsync(400);
            Assert.True((await refused.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _), body);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/discovery/sources/k-{s.Id}")).StatusCode);
    }
}
