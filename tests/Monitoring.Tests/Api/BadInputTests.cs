using System.Net;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>Every bad request gets a 4xx problem+json that says what was wrong and where, and changes nothing.</summary>
[Collection(ApiCollection.Name)]
public sealed class BadInputTests(ApiFixture api)
{
    private HttpClient Http => api.Http;
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    private async Task SetUpAsync()
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/channels", $$"""{"id":"c-{{_id}}","type":"webhook","config":{"url":"http://127.0.0.1:9/x"} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/servers", $$"""{"id":"s-{{_id}}","name":"S","endpoint":"http://127.0.0.1:3001/mcp"}""")).StatusCode);
    }

    [Theory]
    [InlineData("""{"id":"x","name":"S",""", "the body")]
    [InlineData("""{"id":"x","name":5,"endpoint":"http://a/mcp"}""", "$.name")]
    [InlineData("""{"id":"x","name":"S","endpoint":"http://a/mcp","labels":{"a":1}}""", "$.labels.a")]
    [InlineData("""{"id":"x","name":"S","endpoint":"http://a/mcp","enabled":"yes"}""", "$.enabled")]
    [InlineData("""{"id":"x","name":"S","endpoint":"http://a/mcp","nmae":"typo"}""", "$.nmae")]
    [InlineData("""[1,2]""", "the body")]
    public async Task Malformed_json_and_wrong_types_name_the_place(string body, string where)
    {
        var detail = await (await Http.PostJsonAsync("/api/servers", body)).AssertProblemAsync(400);
        Assert.Contains(where, detail);
        await (await Http.GetAsync("/api/servers/x")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task A_missing_body_is_a_clear_400()
    {
        Assert.Contains("body", await (await Http.PostAsync("/api/servers", new StringContent("", System.Text.Encoding.UTF8, "application/json"))).AssertProblemAsync(400));
    }

    [Theory]
    [InlineData("""{"id":"bad id","name":"S","endpoint":"http://a/mcp"}""", "id")]
    [InlineData("""{"id":"s","name":"","endpoint":"http://a/mcp"}""", "name")]
    [InlineData("""{"id":"s","name":"S","endpoint":"ftp://a/mcp"}""", "endpoint")]
    [InlineData("""{"id":"s","name":"S","endpoint":"not a url"}""", "endpoint")]
    [InlineData("""{"id":"s","name":"S","endpoint":"http://a/mcp","labels":{"9bad":"x"}}""", "labels.9bad")]
    [InlineData("""{"id":"s","name":"S","endpoint":"http://127.0.0.1/\r\nX-Injected: 1"}""", "endpoint")]
    [InlineData("""{"id":"s","name":"S","endpoint":"http://a/mcp","metricsUrl":"http://a/metrics\nX: 1"}""", "metricsUrl")]
    public async Task Invalid_servers_are_refused(string body, string field)
    {
        Assert.Contains(field + ":", await (await Http.PostJsonAsync("/api/servers", body)).AssertProblemAsync(400));
    }

    /// <summary>A line break in a URL or a header value would be a header injected into every message the channel sends.</summary>
    [Theory]
    [InlineData("""{"type":"webhook","config":{"url":"http://127.0.0.1/\r\nX-Injected: 1"}}""", "config.url: contains a control character")]
    [InlineData("""{"type":"webhook","config":{"url":"http://127.0.0.1/x\u0000"}}""", "config.url: contains a control character")]
    [InlineData("""{"type":"webhook","config":{"url":"http://127.0.0.1/x","headers":{"X-Team":"a\u0007b"}}}""", "config.headers.X-Team")]
    [InlineData("""{"type":"slack","config":{"webhookUrl":"https://hooks.slack.com/services/T/B/x\r\nX: 1"}}""", "config.webhookUrl: contains a control character")]
    public async Task A_channel_url_or_header_with_a_control_character_is_refused_and_not_stored(string body, string expected)
    {
        var id = $"crlf-{_id}";
        var detail = await (await Http.PostJsonAsync("/api/channels", body.Replace("{\"type\"", $"{{\"id\":\"{id}\",\"type\""))).AssertProblemAsync(400);
        Assert.Contains(expected, detail);
        await (await Http.GetAsync($"/api/channels/{id}")).AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","for":"-5m"}""", "for: '-5m' is negative")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","cooldown":"soon"}""", "cooldown: 'soon' is not a duration")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","escalateAfter":"0s"}""", "escalateAfter")]
    [InlineData("""{"name":"R","condition":"latency > 1"}""", "unknown metric 'latency' at column 1")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05 and"}""", "condition: at column 22")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","severity":"urgent"}""", "severity: 'urgent' is not a severity")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","severity":"2"}""", "severity")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","channels":["nope"]}""", "channels[0]: unknown channel 'nope'")]
    [InlineData("""{"name":"R","condition":"error_rate > 0.05","escalationChannels":["nope"]}""", "escalationChannels[0]: unknown channel 'nope'")]
    public async Task Invalid_rules_are_refused_and_not_created(string body, string expected)
    {
        await SetUpAsync();
        var withId = body.Insert(1, $"\"id\":\"r-{_id}\",");
        Assert.Contains(expected, await (await Http.PostJsonAsync("/api/rules", withId)).AssertProblemAsync(400));
        await (await Http.GetAsync($"/api/rules/r-{_id}")).AssertProblemAsync(404);
        var rules = await (await Http.GetAsync("/api/rules?limit=1000")).JsonAsync();
        Assert.DoesNotContain(rules.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == $"r-{_id}");
    }

    [Fact]
    public async Task A_failed_update_leaves_the_rule_as_it_was()
    {
        await SetUpAsync();
        await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"error_rate > 0.05","channels":["c-{{_id}}"]}""");
        var put = await Http.PutJsonAsync($"/api/rules/r-{_id}", $$"""{"name":"R2","condition":"error_rate > 0.5","channels":["c-{{_id}}","missing"]}""");
        Assert.Contains("channels[1]", await put.AssertProblemAsync(400));
        var rule = await (await Http.GetAsync($"/api/rules/r-{_id}")).JsonAsync();
        Assert.Equal("R", rule.GetProperty("name").GetString());
        Assert.Equal("error_rate > 0.05", rule.GetProperty("condition").GetString());
    }

    [Fact]
    public async Task Duplicate_ids_on_create_are_refused()
    {
        await SetUpAsync();
        Assert.Contains("already exists", await (await Http.PostJsonAsync("/api/servers", $$"""{"id":"s-{{_id}}","name":"Other","endpoint":"http://b/mcp"}""")).AssertProblemAsync(400));
        Assert.Equal("S", (await (await Http.GetAsync($"/api/servers/s-{_id}")).JsonAsync()).GetProperty("name").GetString());
        Assert.Contains("already exists", await (await Http.PostJsonAsync("/api/channels", $$"""{"id":"c-{{_id}}","type":"webhook","config":{"url":"http://127.0.0.1:9/y"} }""")).AssertProblemAsync(400));
        await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"error_rate > 0.05"}""");
        Assert.Contains("already exists", await (await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"cpu_usage > 1"}""")).AssertProblemAsync(400));
    }

    [Theory]
    [InlineData("""{"requests":[{"method":"ping","durationMs":-1}]}""", "requests[0].durationMs")]
    [InlineData("""{"requests":[{"durationMs":1}]}""", "requests[0].method")]
    [InlineData("""{"requests":[{"method":"ping","durationMs":1},{"method":"ping"}]}""", "requests[1].durationMs")]
    [InlineData("""{"gauges":{"cpuUsage":250}}""", "gauges.cpuUsage")]
    [InlineData("""{}""", "requests")]
    [InlineData("""{"requests":[{"method":"ping","durationMs":"fast"}]}""", "$.requests[0].durationMs")]
    [InlineData("""{"requests":[{"method":"ping","durationMs":1,"timestamp":"2999-01-01T00:00:00Z"}]}""", "requests[0].timestamp")]
    public async Task Bad_telemetry_is_refused_whole(string body, string field)
    {
        await SetUpAsync();
        Assert.Contains(field, await (await Http.PostJsonAsync($"/api/servers/s-{_id}/telemetry", body)).AssertProblemAsync(400));
        var server = await (await Http.GetAsync($"/api/servers/s-{_id}")).JsonAsync();
        Assert.Equal(0, server.GetProperty("requestsInWindow").GetInt64());
        Assert.False(server.GetProperty("metrics").TryGetProperty("cpu_usage", out _), "no gauge was recorded, so there is no cpu_usage");
    }

    [Fact]
    public async Task A_batch_over_the_limit_is_refused_with_the_limit_named()
    {
        await SetUpAsync();
        var records = string.Join(",", Enumerable.Repeat("""{"method":"ping","durationMs":1}""", ApiFixture.TelemetryLimit + 1));
        var detail = await (await Http.PostJsonAsync($"/api/servers/s-{_id}/telemetry", $$"""{"requests":[{{records}}]}""")).AssertProblemAsync(400);
        Assert.Contains($"the limit is {ApiFixture.TelemetryLimit}", detail);
        Assert.Equal(0, (await (await Http.GetAsync($"/api/servers/s-{_id}")).JsonAsync()).GetProperty("requestsInWindow").GetInt64());
    }

    [Theory]
    [InlineData("GET", "/api/servers/nope")]
    [InlineData("PUT", "/api/servers/nope")]
    [InlineData("DELETE", "/api/servers/nope")]
    [InlineData("POST", "/api/servers/nope/telemetry")]
    [InlineData("GET", "/api/rules/nope")]
    [InlineData("PUT", "/api/rules/nope")]
    [InlineData("DELETE", "/api/rules/nope")]
    [InlineData("GET", "/api/channels/nope")]
    [InlineData("PUT", "/api/channels/nope")]
    [InlineData("DELETE", "/api/channels/nope")]
    [InlineData("GET", "/api/channels/nope/deliveries")]
    [InlineData("GET", "/api/alerts/nope:nope")]
    [InlineData("GET", "/api/alerts/not-an-alert-id")]
    [InlineData("POST", "/api/alerts/nope:nope/ack")]
    [InlineData("POST", "/api/alerts/nope:nope/resolve")]
    public async Task Unknown_ids_are_404(string method, string url)
    {
        var body = url.Contains("/alerts") ? """{"by":"x"}"""
            : url.Contains("/rules") ? """{"name":"R","condition":"cpu_usage > 1"}"""
            : url.Contains("/channels") ? """{"type":"webhook","config":{"url":"http://127.0.0.1:9/x"}}"""
            : url.EndsWith("telemetry") ? """{"requests":[{"method":"ping","durationMs":1}]}"""
            : """{"name":"S","endpoint":"http://a/mcp"}""";
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "PUT" or "POST") request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        await (await Http.SendAsync(request)).AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"id":"c","type":"pager","config":{}}""", "type: unknown channel type 'pager'")]
    [InlineData("""{"id":"c","type":"webhook"}""", "config: is required")]
    [InlineData("""{"id":"c","type":"webhook","config":{}}""", "config.url")]
    [InlineData("""{"id":"c","type":"webhook","config":{"url":"file:///etc/passwd"}}""", "config.url")]
    [InlineData("""{"id":"c","type":"webhook","config":{"url":"http://a/x","timeoutSeconds":0}}""", "config.timeoutSeconds")]
    [InlineData("""{"id":"c","type":"webhook","config":{"url":"http://a/x","rateLimitMinutes":-1}}""", "config.rateLimitMinutes")]
    public async Task Invalid_channels_are_refused(string body, string expected)
    {
        var withId = body.Replace("\"id\":\"c\"", $"\"id\":\"c-{_id}\"");
        Assert.Contains(expected, await (await Http.PostJsonAsync("/api/channels", withId)).AssertProblemAsync(400));
        await (await Http.GetAsync($"/api/channels/c-{_id}")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task A_channel_in_use_cannot_be_deleted()
    {
        await SetUpAsync();
        await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"cpu_usage > 1","channels":["c-{{_id}}"]}""");
        Assert.Contains($"r-{_id}", await (await Http.DeleteAsync($"/api/channels/c-{_id}")).AssertProblemAsync(409));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"/api/channels/c-{_id}")).StatusCode);
    }

    [Fact]
    public async Task Bad_listing_parameters_are_refused()
    {
        Assert.Contains("status", await (await Http.GetAsync("/api/alerts?status=burning")).AssertProblemAsync(400));
        Assert.Contains("severity", await (await Http.GetAsync("/api/alerts?severity=7")).AssertProblemAsync(400));
        Assert.Contains("limit", await (await Http.GetAsync("/api/servers?limit=0")).AssertProblemAsync(400));
        Assert.Contains("offset", await (await Http.GetAsync("/api/rules?offset=-1")).AssertProblemAsync(400));
    }

    [Fact]
    public async Task Webhook_header_secrets_are_never_returned_nor_logged()
    {
        const string secret = "Bearer very-secret-token-4711";
        var created = await Http.PostJsonAsync("/api/channels", $$"""{"id":"sec-{{_id}}","type":"webhook","config":{"url":"http://127.0.0.1:9/x","headers":{"Authorization":"{{secret}}"} } }""");
        Assert.DoesNotContain(secret, await created.Content.ReadAsStringAsync());
        Assert.DoesNotContain(secret, await Http.GetStringAsync($"/api/channels/sec-{_id}"));
        Assert.DoesNotContain(secret, await Http.GetStringAsync("/api/channels?limit=1000"));
        Assert.Contains("<redacted>", await Http.GetStringAsync($"/api/channels/sec-{_id}"));
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains("very-secret-token"));
    }

    [Theory]
    [InlineData("""{"url":"http://127.0.0.1:9/x","urll":"typo"}""", "config.urll")]
    [InlineData("""{"url":"http://127.0.0.1:9/x","retry":{"maxAge":"1h","maxAgee":"2h"}}""", "config.retry.maxAgee")]
    [InlineData("""{"url":"http://127.0.0.1:9/x","rateLimit":{"perMinute":1,"brust":3}}""", "config.rateLimit.brust")]
    public async Task Unknown_fields_inside_a_channel_config_are_refused_by_path(string config, string field)
    {
        var detail = await (await Http.PostJsonAsync("/api/channels", $$"""{"id":"u-{{_id}}","type":"webhook","config":{{config}} }""")).AssertProblemAsync(400);
        Assert.Contains(field + ": is not a known field", detail);
        await (await Http.GetAsync($"/api/channels/u-{_id}")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task Edges_of_numbers_dates_and_free_text_are_refused_naming_the_field()
    {
        await SetUpAsync();
        Assert.Contains("column 14", await (await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"error_rate > 1e999"}""")).AssertProblemAsync(400));
        Assert.Contains("out of range", await (await Http.PostJsonAsync("/api/rules", $$"""{"id":"r-{{_id}}","name":"R","condition":"error_rate > {{new string('9', 1000)}}"}""")).AssertProblemAsync(400));
        await (await Http.GetAsync($"/api/rules/r-{_id}")).AssertProblemAsync(404);

        var silences = (await (await Http.GetAsync("/api/silences?limit=1")).JsonAsync()).GetProperty("total").GetInt32();
        Assert.Contains("duration:", await (await Http.PostJsonAsync("/api/silences",
            """{"matchers":["a=b"],"startsAt":"9999-12-31T23:00:00Z","duration":"2h","createdBy":"a","comment":"c"}""")).AssertProblemAsync(400));
        Assert.Contains("matchers[0].extra", await (await Http.PostJsonAsync("/api/silences",
            """{"matchers":[{"name":"a","value":"b","extra":1}],"duration":"2h","createdBy":"a","comment":"c"}""")).AssertProblemAsync(400));
        Assert.Equal(silences, (await (await Http.GetAsync("/api/silences?limit=1")).JsonAsync()).GetProperty("total").GetInt32());

        Assert.Contains("by:", await (await Http.PostJsonAsync("/api/alerts/r-x:s-x/ack", $$"""{"by":"{{new string('a', 200_000)}}"}""")).AssertProblemAsync(400));
        Assert.Contains("by:", await (await Http.PostJsonAsync("/api/alerts/r-x:s-x/suppress", $$"""{"duration":"1h","by":"{{new string('a', 1_000_000)}}"}""")).AssertProblemAsync(400));
        var duration = await (await Http.PostJsonAsync("/api/alerts/r-x:s-x/suppress", $$"""{"duration":"{{new string(' ', 100_000)}}1h"}""")).AssertProblemAsync(400);
        Assert.True(duration.Length < 300, "a long duration is not echoed back");
    }
}
