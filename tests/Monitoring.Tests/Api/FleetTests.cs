using System.Net;
using System.Text.Json;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>
/// The fleet in one call: every server with its verdict, reasons, main metrics and open alerts, filtered by health,
/// label matchers and text, sorted by a metric; and honest verdicts (unknown before any data, failing requests are not
/// healthy). Also the servers the SDK's defaults do not suit, healthy through the API.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class FleetTests(ApiFixture api)
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private HttpClient Http => api.Http;

    [Fact]
    public async Task Which_of_my_servers_are_unhealthy_is_one_call()
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/rules",
            $$"""{"id":"fleet-{{_id}}","name":"Errors","condition":"error_rate > 0.05","channels":[],"selector":{"fleet":"{{_id}}"} }""")).StatusCode);
        foreach (var (name, team) in new[] { ("alpha", "db"), ("beta", "search"), ("gamma", "search") })
        {
            Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/servers",
                $$"""{"id":"{{name}}-{{_id}}","name":"{{name}} server","endpoint":"http://127.0.0.1:9/mcp","labels":{"fleet":"{{_id}}","team":"{{team}}"},"probe":{"enabled":false} }""")).StatusCode);
        }
        // Before any data a server is unknown, never healthy.
        var fresh = await ListAsync($"label=fleet={_id}");
        Assert.All(fresh.GetProperty("items").EnumerateArray(), s => Assert.Equal("unknown", s.GetProperty("health").GetProperty("status").GetString()));

        await PushAsync($"alpha-{_id}", failures: 10, successes: 0);  // every request fails: unhealthy
        await PushAsync($"beta-{_id}", failures: 1, successes: 9);    // 10% fail: degraded
        await PushAsync($"gamma-{_id}", failures: 0, successes: 10);  // healthy

        var unhealthy = await ListAsync($"label=fleet={_id}&health=unhealthy");
        var only = Assert.Single(unhealthy.GetProperty("items").EnumerateArray());
        Assert.Equal($"alpha-{_id}", only.GetProperty("id").GetString());
        Assert.Contains("100% of requests fail", only.GetProperty("health").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(1, only.GetProperty("metrics").GetProperty("error_rate").GetDouble());
        Assert.True(only.GetProperty("openAlerts").GetInt32() >= 1); // this test's rule, and other tests' rules that select every server

        var bySearch = await ListAsync($"label=fleet={_id}&label=team=~sea.*&sort=error_rate&order=desc");
        Assert.Equal([$"beta-{_id}", $"gamma-{_id}"], bySearch.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        Assert.Equal(["degraded", "healthy"], bySearch.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("health").GetProperty("status").GetString()));

        var text = await ListAsync($"label=fleet={_id}&q=GAMMA");
        Assert.Equal($"gamma-{_id}", Assert.Single(text.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_verdict_change_is_listed_at_once_and_the_figures_behind_it_within_a_minute()
    {
        var id = $"delta-{_id}";
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/servers",
            $$"""{"id":"{{id}}","name":"delta server","endpoint":"http://127.0.0.1:9/mcp","labels":{"fleet":"{{_id}}-delta"},"probe":{"enabled":false} }""")).StatusCode);
        await PushAsync(id, failures: 1, successes: 9);
        Assert.Contains("10% of requests fail", await ReasonsAsync(id));

        // Another figure in the same verdict: listed with the next refresh, not on every evaluation of a fleet.
        await PushAsync(id, failures: 1, successes: 4);
        Assert.Contains("10% of requests fail", await ReasonsAsync(id));
        api.Time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.TrueAsync(async () => (await ReasonsAsync(id)).Contains("13.3% of requests fail"), "the new figure to be listed");

        // A new verdict is listed at once.
        await PushAsync(id, failures: 30, successes: 0);
        var listed = Assert.Single((await ListAsync($"label=fleet={_id}-delta")).GetProperty("items").EnumerateArray());
        Assert.Equal("unhealthy", listed.GetProperty("health").GetProperty("status").GetString());
    }

    private async Task<string?[]> ReasonsAsync(string server) =>
        [.. Assert.Single((await ListAsync($"q={server}")).GetProperty("items").EnumerateArray())
            .GetProperty("health").GetProperty("reasons").EnumerateArray().Select(r => r.GetString())];

    [Theory]
    [InlineData("health=sick", "health")]
    [InlineData("label=9bad=x", "label[0]")]
    [InlineData("label=team=~(unclosed", "label[0]")]
    [InlineData("sort=name", "sort")]
    [InlineData("order=sideways", "order")]
    public async Task A_bad_query_is_refused_naming_the_parameter(string query, string field)
    {
        var response = await Http.GetAsync($"/api/servers?{query}");
        Assert.Contains(field, await response.AssertProblemAsync(400));
    }

    [Theory]
    [InlineData(TestMcpServer.Kind.SseOnly, "sse")]
    [InlineData(TestMcpServer.Kind.DiscoverFails, "streamable-http")]
    public async Task Servers_the_sdk_defaults_do_not_suit_are_healthy_with_their_tools(TestMcpServer.Kind kind, string transport)
    {
        await using var mcp = await TestMcpServer.StartAsync(kind, "quirky");
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/servers",
            $$"""{"id":"q-{{_id}}","name":"Quirky","endpoint":"{{mcp.Endpoint}}","labels":{"fleet":"{{_id}}"} }""")).StatusCode);
        var status = await (await Http.PostAsync($"/api/servers/q-{_id}/check", null)).JsonAsync();
        Assert.Equal("healthy", status.GetProperty("health").GetProperty("status").GetString());
        Assert.Equal(["search", "work"], status.GetProperty("tools").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(transport, status.GetProperty("lastProbe").GetProperty("transport").GetString());
    }

    private async Task<JsonElement> ListAsync(string query)
    {
        var response = await Http.GetAsync($"/api/servers?{query}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    private async Task PushAsync(string server, int failures, int successes)
    {
        var records = Enumerable.Range(0, failures + successes)
            .Select(i => $$"""{"method":"tools/call","tool":"search","durationMs":20,"success":{{(i >= failures ? "true" : "false")}}}""");
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostJsonAsync($"/api/servers/{server}/telemetry", $$"""{"requests":[{{string.Join(',', records)}}]}""")).StatusCode);
    }
}
