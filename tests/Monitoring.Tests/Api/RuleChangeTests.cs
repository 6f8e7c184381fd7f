using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>Rule changes are pulled by the servers: a write never waits on them, and a broken server cannot fail it.</summary>
[Collection(ApiCollection.Name)]
public sealed class RuleChangeTests(ApiFixture api)
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData(""" "channels":["c-ID"]""", "off")]
    [InlineData(""" "channels":[]""", "off")]
    [InlineData(""" "channels":["c-ID"],"escalationChannels":["c-ID"]""", "30m")]
    [InlineData(""" "channels":["c-ID"],"escalationChannels":["c-ID"],"escalateAfter":"10m" """, "10m")]
    public async Task An_omitted_escalateAfter_escalates_only_where_someone_is_told(string fields, string? expected)
    {
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/channels", $$"""{"id":"c-{{_id}}","type":"webhook","config":{"url":"{{api.Webhooks.UrlFor("/x")}}"} }""")).StatusCode);
        var created = await api.Http.PostJsonAsync("/api/rules",
            $$"""{"id":"r-{{_id}}","name":"Errors","condition":"error_rate > 0.5",{{fields.Replace("ID", _id)}} }""");
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var rule = await (await api.Http.GetAsync($"/api/rules/r-{_id}")).JsonAsync();
        var escalateAfter = rule.GetProperty("escalateAfter");
        Assert.Equal(expected, escalateAfter.ValueKind == JsonValueKind.Null ? null : escalateAfter.GetString());
    }

    [Fact]
    public async Task A_rule_change_succeeds_while_a_server_throws_is_audited_and_applies_once_the_server_works()
    {
        var http = api.Http;
        var hook = $"/rules/{_id}";
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/channels", $$"""{"id":"c-{{_id}}","type":"webhook","config":{"url":"{{api.Webhooks.UrlFor(hook)}}"} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/servers",
            $$"""{"id":"s-{{_id}}","name":"S","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{_id}}"},"probe":{"enabled":false} }""")).StatusCode);
        const string rule = """{"name":"Errors","condition":"error_rate > CUT","channels":["c-ID"],"selector":{"t":"ID"} }""";
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/rules", rule.Replace("CUT", "0.5").Replace("ID", _id).Replace("{\"name\"", $"{{\"id\":\"r-{_id}\",\"name\""))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/api/servers/s-{_id}/telemetry",
            """{"requests":[{"method":"tools/call","durationMs":5,"success":false},""" + string.Join(',', Enumerable.Repeat("""{"method":"tools/call","durationMs":5}""", 9)) + "]}")).StatusCode);
        Assert.Equal("inactive", await StatusAsync());

        api.Faults.Fail($"s-{_id}");
        var refusedBefore = api.Faults.Refused;
        var put = await http.PutJsonAsync($"/api/rules/r-{_id}", rule.Replace("CUT", "0.05").Replace("ID", _id));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var audit = await http.GetFromJsonAsync<JsonElement>($"/api/audit?kind=rule&resourceId=r-{_id}");
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("action").GetString() == "PUT /api/rules/{id}"
            && e.GetProperty("after").GetProperty("condition").GetString() == "error_rate > 0.05");
        var rules = await http.GetFromJsonAsync<JsonElement>("/api/rules");
        Assert.True(rules.GetProperty("version").GetInt64() >= 1);
        // The silo's watcher nudged the server, which threw; nothing was applied and no alert fired.
        await Eventually.TrueAsync(() => api.Faults.Refused > refusedBefore, "the rule watcher to nudge the broken server");
        Assert.Empty(api.Webhooks.At(hook));

        api.Faults.Heal($"s-{_id}");
        api.Time.Advance(TimeSpan.FromSeconds(16)); // the server's next evaluation applies the rule set it has not seen
        var fired = await api.Webhooks.WaitForAsync(hook, 1);
        Assert.Equal("firing", fired[0].Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal("firing", await StatusAsync());
        rules = await http.GetFromJsonAsync<JsonElement>("/api/rules");
        Assert.Equal(rules.GetProperty("version").GetInt64(), rules.GetProperty("appliedVersion").GetInt64());
    }

    private async Task<string> StatusAsync()
    {
        var response = await api.Http.GetAsync($"/api/alerts/r-{_id}:s-{_id}");
        return response.StatusCode == HttpStatusCode.NotFound ? "inactive" : (await response.JsonAsync()).GetProperty("status").GetString()!;
    }
}
