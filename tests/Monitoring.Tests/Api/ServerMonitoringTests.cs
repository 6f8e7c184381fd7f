using System.Net;
using System.Text.Json;
using ModelContextProtocol.Client;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>
/// Registering an endpoint is enough: probes, scrapes and health reads against real MCP servers on loopback, through
/// the API, with the fake clock driving the intervals. Rules carry a selector so other tests' servers stay out.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ServerMonitoringTests(ApiFixture api)
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private HttpClient Http => api.Http;

    [Fact]
    public async Task Probe_scrape_and_health_report_feed_the_status_and_the_metrics()
    {
        await using var mcp = await TestMcpServer.StartAsync(legacy: true, name: "search-server");
        await RegisterAsync(mcp.Endpoint, $$""","metricsUrl":"{{mcp.MetricsUrl}}","healthUrl":"{{mcp.HealthUrl}}" """);

        var first = await CheckAsync();
        Assert.Equal("healthy", first.GetProperty("health").GetProperty("status").GetString());
        Assert.Equal(1, Metric(first, "up"));
        Assert.Equal(2, Metric(first, "tool_count"));
        Assert.Equal(0, Metric(first, "health"));
        Assert.True(Metric(first, "probe_latency_seconds") > 0);
        var probe = first.GetProperty("lastProbe");
        Assert.Equal("ok", probe.GetProperty("outcome").GetString());
        Assert.Equal(TestMcpServer.LegacyRevision, probe.GetProperty("protocolVersion").GetString());
        Assert.Equal("ping", probe.GetProperty("livenessMethod").GetString());
        Assert.Equal("search-server", probe.GetProperty("serverName").GetString());
        Assert.Equal("1.2.3", probe.GetProperty("serverVersion").GetString());
        Assert.Equal(["search", "work"], first.GetProperty("tools").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("ok", first.GetProperty("lastScrape").GetProperty("outcome").GetString());
        Assert.Equal("healthy", first.GetProperty("lastHealthReport").GetProperty("reported").GetString());

        // Real traffic through the MCP server: 10 fast, 10 medium, 10 slow calls that fail (isError results).
        await using (var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(mcp.Endpoint) })))
        {
            for (var i = 0; i < 10; i++)
            {
                await client.CallToolAsync("work", new Dictionary<string, object?> { ["ms"] = 20, ["fail"] = false });
                await client.CallToolAsync("search", new Dictionary<string, object?> { ["ms"] = 200, ["fail"] = false });
                var failed = await client.CallToolAsync("work", new Dictionary<string, object?> { ["ms"] = 700, ["fail"] = true });
                Assert.True(failed.IsError);
            }
        }
        mcp.Cpu.Set(55);
        api.Time.Advance(TimeSpan.FromSeconds(15));

        var second = await CheckAsync();
        Assert.Equal(30.0 / 15, Metric(second, "requests_per_second"), 9);
        Assert.Equal(10.0 / 30, Metric(second, "error_rate"), 9);
        Assert.Equal(10.0 / 30, Metric(second, "tool_error_rate"), 9);
        Assert.Equal((10 * 0.02 + 10 * 0.2 + 10 * 0.7) / 30, Metric(second, "average_response_time"), 9);
        // Cumulative bucket deltas: 10 by 0.025, 20 by 0.25, 30 by 1. Rank 28.5 (p95) lies 8.5/10 into (0.5, 1].
        Assert.Equal(0.5 + 0.5 * 0.85, Metric(second, "p95_response_time"), 9);
        Assert.Equal(0.5 + 0.5 * 0.97, Metric(second, "p99_response_time"), 9);
        Assert.Equal(55, Metric(second, "cpu_usage"));
        Assert.True(second.GetProperty("lastProbe").GetProperty("sessionReused").GetBoolean());
    }

    [Fact]
    public async Task An_up_rule_fires_when_the_server_stops_and_resolves_when_it_returns()
    {
        await using var mcp = await TestMcpServer.StartAsync(legacy: false);
        var hook = await ChannelAndRuleAsync("up == 0");
        await RegisterAsync(mcp.Endpoint);
        Assert.Equal(1, Metric(await CheckAsync(), "up"));

        await mcp.StopAsync();
        var down = await CheckAsync();
        Assert.Equal(0, Metric(down, "up"));
        Assert.Equal(2, Metric(down, "health"));
        Assert.Equal("unhealthy", down.GetProperty("health").GetProperty("status").GetString());
        Assert.Contains(down.GetProperty("health").GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("connection_refused"));
        var fired = (await api.Webhooks.WaitForAsync(hook, 1)).Single();
        Assert.Equal("firing", fired.Body.GetProperty("alert").GetProperty("status").GetString());

        await mcp.StartAsync();
        var back = await CheckAsync();
        Assert.Equal(1, Metric(back, "up"));
        Assert.Equal("healthy", back.GetProperty("health").GetProperty("status").GetString());
        var resolved = (await api.Webhooks.WaitForAsync(hook, 2))[1];
        Assert.Equal("resolved", resolved.Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Checks_run_on_their_interval_without_being_asked()
    {
        await using var mcp = await TestMcpServer.StartAsync(legacy: false);
        await RegisterAsync(mcp.Endpoint, """ ,"probe":{"interval":"30s","timeout":"5s"} """);
        Assert.Equal(JsonValueKind.Null, (await StatusAsync()).GetProperty("lastProbe").ValueKind);

        // The first round comes at a random point of the interval (jitter), and then every interval.
        api.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await StatusAsync()).GetProperty("lastProbe").ValueKind == JsonValueKind.Object, "the first timed probe");
        var firstAt = (await StatusAsync()).GetProperty("lastProbe").GetProperty("at").GetDateTimeOffset();
        api.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(
            async () => (await StatusAsync()).GetProperty("lastProbe").GetProperty("at").GetDateTimeOffset() > firstAt, "the next timed probe");
    }

    [Fact]
    public async Task A_tool_list_change_is_noticed_and_can_alert()
    {
        await using var mcp = await TestMcpServer.StartAsync(legacy: false);
        var hook = await ChannelAndRuleAsync("tool_set_changes > 0");
        await RegisterAsync(mcp.Endpoint);
        var before = await CheckAsync();
        Assert.Equal(0, Metric(before, "tool_set_changes"));
        Assert.Equal(JsonValueKind.Null, before.GetProperty("lastToolSetChange").ValueKind);

        mcp.AddTool("fetch", "Fetches.");
        mcp.RemoveTool("search");
        var after = await CheckAsync();

        Assert.Equal(1, Metric(after, "tool_set_changes"));
        Assert.Equal(["fetch", "work"], after.GetProperty("tools").EnumerateArray().Select(t => t.GetString()!));
        var change = after.GetProperty("lastToolSetChange");
        Assert.Equal(["fetch"], change.GetProperty("added").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(["search"], change.GetProperty("removed").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("firing", (await api.Webhooks.WaitForAsync(hook, 1)).Single().Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_server_that_sends_nothing_raises_a_no_data_alert()
    {
        var hook = await ChannelAndRuleAsync("data_age_seconds > 300");
        await RegisterAsync("http://127.0.0.1:9/mcp", """ ,"probe":{"enabled":false} """);
        Assert.True(Metric(await StatusAsync(), "data_age_seconds") < 300);

        for (var i = 0; i < 24; i++)
        {
            api.Time.Advance(TimeSpan.FromSeconds(15));
        }
        // The evaluation timer re-arms from the time its tick ends: a tick that began before the clock passed 300 s and
        // ended after the loop is due again only at the next advance. Time goes on until the alert is sent.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (api.Webhooks.At(hook).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            if (api.Webhooks.At(hook).Count == 0) api.Time.Advance(TimeSpan.FromSeconds(15));
        }

        var fired = (await api.Webhooks.WaitForAsync(hook, 1)).Single();
        Assert.Equal("firing", fired.Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.True(Metric(await StatusAsync(), "data_age_seconds") >= 360);
        Assert.Equal("unknown", (await StatusAsync()).GetProperty("health").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_stopped_server_pages_no_data_only_after_five_minutes_without_data()
    {
        await using var mcp = await TestMcpServer.StartAsync(legacy: false);
        var hook = await ChannelAndRuleAsync("data_age_seconds > 300");
        await RegisterAsync(mcp.Endpoint, """ ,"probe":{"interval":"1m","timeout":"5s"} """);
        // Answered probes for 8 minutes, so registration lies well past the rule's 5 minutes.
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(1, Metric(await CheckAsync(), "up"));
            api.Time.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.Equal(1, Metric(await CheckAsync(), "up"));
        await mcp.StopAsync();

        // Failed probes are not data, and they do not forget the successful ones before them.
        for (var minute = 1; minute <= 4; minute++)
        {
            api.Time.Advance(TimeSpan.FromMinutes(1));
            var down = await CheckAsync();
            Assert.Equal(0, Metric(down, "up"));
            Assert.Equal(minute * 60, Metric(down, "data_age_seconds"), 0.5);
        }
        Assert.Empty(api.Webhooks.At(hook));

        api.Time.Advance(TimeSpan.FromMinutes(1.5));
        Assert.True(Metric(await CheckAsync(), "data_age_seconds") > 300);
        var fired = (await api.Webhooks.WaitForAsync(hook, 1)).Single();
        Assert.Equal("firing", fired.Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Probe_headers_are_sent_but_never_returned_or_logged()
    {
        const string token = "tok-9f8e7d6c5b4a-secret";
        await using var mcp = await TestMcpServer.StartAsync(legacy: false);
        mcp.RequiredToken = token;
        var created = await Http.PostJsonAsync("/api/servers",
            $$"""{"id":"mcp-{{_id}}","name":"Guarded","endpoint":"{{mcp.Endpoint}}","labels":{"t":"{{_id}}"},"probe":{"headers":{"Authorization":"Bearer {{token}}"} } }""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdBody = await created.Content.ReadAsStringAsync();
        Assert.DoesNotContain(token, createdBody);
        Assert.Equal(["Authorization"], (await created.JsonAsync()).GetProperty("probe").GetProperty("headerNames").EnumerateArray().Select(h => h.GetString()!));

        Assert.Equal(1, Metric(await CheckAsync(), "up"));
        // An update that leaves the headers out keeps them: a client never sees the secret, so it cannot send it back.
        var updated = await Http.PutJsonAsync($"/api/servers/mcp-{_id}", $$"""{"name":"Guarded 2","endpoint":"{{mcp.Endpoint}}","labels":{"t":"{{_id}}"} }""");
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var status = await CheckAsync();
        Assert.Equal(1, Metric(status, "up"));

        // Without the header the server refuses: an auth problem, not "down".
        Assert.Equal(HttpStatusCode.OK, (await Http.PutJsonAsync($"/api/servers/mcp-{_id}",
            $$"""{"name":"Guarded 2","endpoint":"{{mcp.Endpoint}}","labels":{"t":"{{_id}}"},"probe":{"headers":{ } } }""")).StatusCode);
        var refused = await CheckAsync();
        Assert.Equal("unauthorized", refused.GetProperty("lastProbe").GetProperty("outcome").GetString());
        Assert.Equal("degraded", refused.GetProperty("health").GetProperty("status").GetString());

        Assert.DoesNotContain(token, await (await Http.GetAsync($"/api/servers/mcp-{_id}")).Content.ReadAsStringAsync());
        Assert.DoesNotContain(token, await (await Http.GetAsync("/api/servers?limit=500")).Content.ReadAsStringAsync());
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(token));
    }

    [Fact]
    public async Task A_hanging_server_never_blocks_the_grain()
    {
        await using var raw = await RawHttpServer.StartAsync();
        await RegisterAsync(raw.Url("/hang"), """ ,"probe":{"timeout":"1m","interval":"5m"} """);

        var check = Http.PostAsync($"/api/servers/mcp-{_id}/check", null);
        await raw.HangReached.Task.WaitAsync(Eventually.DefaultTimeout);

        // The probe is held open by the server; the grain still answers reads and takes telemetry.
        var read = await Http.GetAsync($"/api/servers/mcp-{_id}").WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var push = await Http.PostJsonAsync($"/api/servers/mcp-{_id}/telemetry", """{"requests":[{"method":"tools/call","durationMs":5,"success":true}]}""")
            .WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
        Assert.False(check.IsCompleted);

        raw.ReleaseHung();
        var result = await (await check).JsonAsync();
        Assert.Equal("http_error", result.GetProperty("lastProbe").GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Unreachable_targets_and_garbage_give_classified_failures_on_the_status()
    {
        await using var raw = await RawHttpServer.StartAsync();
        await RegisterAsync("http://no-such-server.invalid/mcp", $$""","metricsUrl":"{{raw.Url("/garbage")}}","healthUrl":"{{raw.Url("/html")}}" """);

        var status = await CheckAsync();

        Assert.Equal("dns", status.GetProperty("lastProbe").GetProperty("outcome").GetString());
        Assert.Equal("protocol_error", status.GetProperty("lastScrape").GetProperty("outcome").GetString());
        Assert.Contains("line 1", status.GetProperty("lastScrape").GetProperty("error").GetString());
        Assert.Equal("protocol_error", status.GetProperty("lastHealthReport").GetProperty("outcome").GetString());
        Assert.Equal("unhealthy", status.GetProperty("health").GetProperty("status").GetString());
        Assert.Equal(3, status.GetProperty("health").GetProperty("reasons").GetArrayLength());
        Assert.Equal(0, Metric(status, "up"));
    }

    [Theory]
    [InlineData(""" ,"metricsUrl":"file:///etc/passwd" """, "metricsUrl")]
    [InlineData(""" ,"healthUrl":"not a url" """, "healthUrl")]
    [InlineData(""" ,"probe":{"interval":"often"} """, "probe.interval")]
    [InlineData(""" ,"probe":{"interval":"100ms"} """, "probe.interval")]
    [InlineData(""" ,"probe":{"interval":"10s","timeout":"20s"} """, "probe.timeout")]
    [InlineData(""" ,"probe":{"headers":{"X-Evil":"a\r\nInjected: 1"}} """, "probe.headers.X-Evil")]
    [InlineData(""" ,"probe":{"headers":{"bad header":"x"}} """, "probe.headers.bad header")]
    [InlineData(""" ,"probe":{"headers":{"Mcp-Session-Id":"x"}} """, "probe.headers.Mcp-Session-Id")]
    [InlineData(""" ,"probe":{"expectedTools":[""]} """, "probe.expectedTools[0]")]
    public async Task Bad_monitoring_settings_are_refused_and_nothing_is_created(string extra, string field)
    {
        var response = await Http.PostJsonAsync("/api/servers", $$"""{"id":"mcp-{{_id}}","name":"S","endpoint":"http://127.0.0.1:9/mcp"{{extra}}}""");

        await response.AssertProblemAsync(400);
        Assert.Contains(JsonSerializer.Serialize(field), await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"/api/servers/mcp-{_id}")).StatusCode);
    }

    [Fact]
    public async Task Checking_an_unknown_server_is_404()
    {
        await (await Http.PostAsync($"/api/servers/nope-{_id}/check", null)).AssertProblemAsync(404);
    }

    private async Task RegisterAsync(string endpoint, string extra = "")
    {
        var response = await Http.PostJsonAsync("/api/servers",
            $$"""{"id":"mcp-{{_id}}","name":"Server {{_id}}","endpoint":"{{endpoint}}","labels":{"t":"{{_id}}"}{{extra}}}""");
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> ChannelAndRuleAsync(string condition)
    {
        var hook = $"/monitoring/{_id}";
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/channels",
            $$"""{"id":"ch-{{_id}}","type":"webhook","config":{"url":"{{api.Webhooks.UrlFor(hook)}}"} }""")).StatusCode);
        var rule = await Http.PostJsonAsync("/api/rules",
            $$"""{"id":"rule-{{_id}}","name":"Rule {{_id}}","condition":"{{condition}}","for":"0s","severity":"critical","channels":["ch-{{_id}}"],"selector":{"t":"{{_id}}"} }""");
        Assert.True(rule.StatusCode == HttpStatusCode.Created, await rule.Content.ReadAsStringAsync());
        return hook;
    }

    private async Task<JsonElement> CheckAsync()
    {
        var response = await Http.PostAsync($"/api/servers/mcp-{_id}/check", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    private async Task<JsonElement> StatusAsync() => await (await Http.GetAsync($"/api/servers/mcp-{_id}")).JsonAsync();

    private static double Metric(JsonElement status, string name) =>
        status.GetProperty("metrics").TryGetProperty(name, out var value)
            ? value.GetDouble()
            : throw new Xunit.Sdk.XunitException($"metric {name} is absent: {status.GetProperty("metrics")}");
}
