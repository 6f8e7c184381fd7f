using System.Net;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>The README walkthrough, through the real HTTP pipeline, from registration to the webhook fired and resolved.</summary>
[Collection(ApiCollection.Name)]
public sealed class WalkthroughTests(ApiFixture api)
{
    private HttpClient Http => api.Http;

    [Fact]
    public async Task Register_alert_and_resolve_end_to_end()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var hook = api.Webhooks.UrlFor($"/hook/{id}");

        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/channels", $$"""{"id":"ops-{{id}}","type":"webhook","config":{"url":"{{hook}}"} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/servers", $$"""{"id":"mcp-{{id}}","name":"Search","endpoint":"http://127.0.0.1:3001/mcp","labels":{"env":"prod","walk":"{{id}}"} }""")).StatusCode);
        var rule = await Http.PostJsonAsync("/api/rules",
            $$"""{"id":"high-error-rate-{{id}}","name":"High error rate","condition":"error_rate > 0.05","for":"0s","severity":"critical","channels":["ops-{{id}}"],"cooldown":"30m","autoResolve":true,"selector":{"walk":"{{id}}"} }""");
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        Assert.Equal("30m", (await rule.JsonAsync()).GetProperty("cooldown").GetString());

        var push = await Http.PostJsonAsync($"/api/servers/mcp-{id}/telemetry",
            """{"requests":[{"method":"tools/call","tool":"search","durationMs":120,"success":false}],"gauges":{"activeConnections":3,"cpuUsage":42.5,"memoryUsage":61.0}}""");
        Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
        Assert.Equal(1, (await push.JsonAsync()).GetProperty("accepted").GetInt32());

        var fired = (await api.Webhooks.WaitForAsync($"/hook/{id}", 1)).Single();
        var alert = fired.Body.GetProperty("alert");
        var alertId = $"high-error-rate-{id}:mcp-{id}";
        Assert.Equal(alertId, alert.GetProperty("id").GetString());
        Assert.Equal("High error rate", alert.GetProperty("rule_name").GetString());
        Assert.Equal("critical", alert.GetProperty("severity").GetString());
        Assert.Equal("firing", alert.GetProperty("status").GetString());
        Assert.Equal($"mcp-{id}", alert.GetProperty("metadata").GetProperty("server_id").GetString());
        Assert.Equal($"high-error-rate-{id}", alert.GetProperty("metadata").GetProperty("rule_id").GetString());
        Assert.Equal(1.0, alert.GetProperty("metadata").GetProperty("values").GetProperty("error_rate").GetDouble());
        Assert.Equal(42.5, alert.GetProperty("metadata").GetProperty("values").GetProperty("cpu_usage").GetDouble());
        Assert.True(fired.Body.TryGetProperty("context", out _));
        Assert.True(fired.Body.TryGetProperty("timestamp", out _));
        Assert.Equal($"{alertId}/1/firing/3", fired.Headers["Idempotency-Key"]);

        // Other tests' rules without a selector apply to this server too; filter to this test's rule.
        var listed = await (await Http.GetAsync($"/api/alerts?status=firing&serverId=mcp-{id}&ruleId=high-error-rate-{id}")).JsonAsync();
        Assert.Equal(1, listed.GetProperty("total").GetInt32());
        Assert.Equal(alertId, listed.GetProperty("items")[0].GetProperty("id").GetString());

        var server = await (await Http.GetAsync($"/api/servers/mcp-{id}")).JsonAsync();
        Assert.Equal(1.0, server.GetProperty("metrics").GetProperty("error_rate").GetDouble());
        Assert.Contains(alertId, server.GetProperty("openAlerts").EnumerateArray().Select(a => a.GetString()));

        var successes = string.Join(",", Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":80,"success":true}""", 99));
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostJsonAsync($"/api/servers/mcp-{id}/telemetry", $$"""{"requests":[{{successes}}]}""")).StatusCode);

        var resolved = (await api.Webhooks.WaitForAsync($"/hook/{id}", 2))[1];
        Assert.Equal("resolved", resolved.Body.GetProperty("alert").GetProperty("status").GetString());
        var view = await (await Http.GetAsync($"/api/alerts/{alertId}")).JsonAsync();
        Assert.Equal("resolved", view.GetProperty("status").GetString());
        Assert.Equal(3, view.GetProperty("transitions").GetArrayLength());
    }

    [Fact]
    public async Task Ack_suppress_and_resolve_through_the_api()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var hook = api.Webhooks.UrlFor($"/h/{id}");
        await Http.PostJsonAsync("/api/channels", $$"""{"id":"c-{{id}}","type":"webhook","config":{"url":"{{hook}}"} }""");
        await Http.PostJsonAsync("/api/servers", $$"""{"id":"s-{{id}}","name":"S","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"{{id}}"} }""");
        await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{id}}","name":"R","condition":"error_rate > 0.05","channels":["c-{{id}}"],"autoResolve":false,"selector":{"t":"{{id}}"} }""");
        await Http.PostJsonAsync($"/api/servers/s-{id}/telemetry", """{"requests":[{"method":"ping","durationMs":5,"success":false}]}""");
        var alertId = $"r-{id}:s-{id}";

        var ack = await Http.PostJsonAsync($"/api/alerts/{alertId}/ack", """{"by":"alice"}""");
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("acknowledged", (await ack.JsonAsync()).GetProperty("status").GetString());

        var suppress = await Http.PostJsonAsync($"/api/alerts/{alertId}/suppress", """{"duration":"1h"}""");
        var suppressed = await suppress.JsonAsync();
        Assert.Equal("suppressed", suppressed.GetProperty("status").GetString());
        Assert.Equal(api.Time.GetUtcNow().AddHours(1), suppressed.GetProperty("suppressedUntil").GetDateTimeOffset());

        await (await Http.PostJsonAsync($"/api/alerts/{alertId}/suppress", """{"duration":"-1h"}""")).AssertProblemAsync(400);
        await (await Http.PostJsonAsync($"/api/alerts/{alertId}/suppress", """{"duration":"0s"}""")).AssertProblemAsync(400);

        var resolve = await Http.PostAsync($"/api/alerts/{alertId}/resolve", null);
        Assert.Equal("resolved", (await resolve.JsonAsync()).GetProperty("status").GetString());
        Assert.Contains("resolved", await (await Http.PostAsync($"/api/alerts/{alertId}/resolve", null)).AssertProblemAsync(409));
    }

    [Fact]
    public async Task A_rule_change_through_the_api_applies_without_a_restart()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        await Http.PostJsonAsync("/api/servers", $$"""{"id":"s-{{id}}","name":"S","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"{{id}}"} }""");
        await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{id}}","name":"CPU","condition":"cpu_usage > 90","selector":{"t":"{{id}}"} }""");
        await Http.PostJsonAsync($"/api/servers/s-{id}/telemetry", """{"gauges":{"cpuUsage":85}}""");
        await (await Http.GetAsync($"/api/alerts/r-{id}:s-{id}")).AssertProblemAsync(404);

        var put = await Http.PutJsonAsync($"/api/rules/r-{id}", $$"""{"name":"CPU","condition":"cpu_usage > 80","selector":{"t":"{{id}}"} }""");
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        await Eventually.TrueAsync(async () => (await Http.GetAsync($"/api/alerts/r-{id}:s-{id}")).StatusCode == HttpStatusCode.OK, "the edited rule to fire");
        var alert = await (await Http.GetAsync($"/api/alerts/r-{id}:s-{id}")).JsonAsync();
        Assert.Equal("firing", alert.GetProperty("status").GetString());
        Assert.Equal("warning", alert.GetProperty("severity").GetString());
    }

    [Fact]
    public async Task Health_metrics_and_openapi_are_served()
    {
        var health = await Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var report = await health.JsonAsync();
        Assert.Equal("healthy", report.GetProperty("status").GetString());
        foreach (var field in new[] { "timestamp", "version", "uptime" }) Assert.True(report.TryGetProperty(field, out _), field);
        Assert.False(report.TryGetProperty("checks", out _));

        var detailed = await (await Http.GetAsync("/health?detailed=true")).JsonAsync();
        Assert.Equal("healthy", detailed.GetProperty("checks").GetProperty("grains").GetProperty("status").GetString());
        Assert.Equal(1, detailed.GetProperty("summary").GetProperty("healthy").GetInt32());

        var metrics = await Http.GetStringAsync("/metrics");
        foreach (var name in new[] { "mcp_alerting_telemetry_records_ingested_total", "mcp_alerting_rule_evaluations_total", "mcp_alerting_alerts{status=\"firing\",severity=\"critical\"}", "mcp_alerting_servers{health=", "mcp_alerting_rule_evaluation_duration_seconds_bucket", "mcp_alerting_notifications_total",
            "mcp_requests_total{method=\"GET /health\",status=\"200\",transport=\"http\",user_id=\"anonymous\"}",
            "mcp_request_duration_seconds_bucket{method=\"GET /health\"", "mcp_response_size_bytes_sum{method=\"GET /health\"", "mcp_active_connections{transport=\"http\"}" })
        {
            Assert.Contains(name, metrics);
        }
        Assert.Contains("microsoft_orleans_", metrics); // the Orleans meter
        Assert.Contains("system_runtime_dotnet_gc_heap_total_allocated ", metrics); // what the collector costs: the storm benchmark reads these
        Assert.Contains("system_runtime_dotnet_gc_pause_time ", metrics);
        var (lint, lintOutput) = await Promtool.CheckMetricsAsync(metrics);
        Assert.True(lint == 0, lintOutput);

        var openApi = await (await Http.GetAsync("/openapi/v1.json")).JsonAsync();
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/api/servers", "/api/servers/{id}/telemetry", "/api/rules", "/api/channels", "/api/alerts", "/api/alerts/{id}/ack", "/api/alerts/{id}/suppress" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }
    }
}
