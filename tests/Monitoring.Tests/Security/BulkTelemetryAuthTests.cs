using System.Net;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>Bulk telemetry with keys required: an operator's key, or every server's own ingest token in the body.</summary>
[Collection(SecuredApiCollection.Name)]
public sealed class BulkTelemetryAuthTests(SecuredApiFixture api)
{
    [Fact]
    public async Task A_bulk_push_without_a_key_needs_every_servers_own_ingest_token_and_takes_nothing_when_one_is_wrong()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var id = Guid.NewGuid().ToString("N")[..6];
        const string server = """{"name":"S","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false}}""";
        var bulk = await admin.PostJsonAsync("/api/servers/bulk",
            $$"""{"servers":[{{server.Insert(1, $"\"id\":\"a-{id}\",")}},{{server.Insert(1, $"\"id\":\"b-{id}\",")}}]}""");
        Assert.Equal(HttpStatusCode.OK, bulk.StatusCode);
        var tokenA = (await (await admin.PostAsync($"/api/servers/a-{id}/ingest-tokens", null)).JsonAsync()).GetProperty("token").GetString()!;
        var tokenB = (await (await admin.PostAsync($"/api/servers/b-{id}/ingest-tokens", null)).JsonAsync()).GetProperty("token").GetString()!;
        const string records = """{"requests":[{"method":"tools/call","tool":"search","durationMs":12,"success":true}]}""";
        string Body(string tokenForB) =>
            $$"""{"servers":[{"serverId":"a-{{id}}","token":"{{tokenA}}","telemetry":{{records}} },{"serverId":"b-{{id}}","token":"{{tokenForB}}","telemetry":{{records}} }]}""";
        using var none = api.As(null);
        async Task<long> Requests(string server) => (await (await admin.GetAsync($"/api/servers/{server}")).JsonAsync()).GetProperty("requestsInWindow").GetInt64();

        // B's part carries A's token: refused whole, nothing taken for A either.
        var wrong = await none.PostJsonAsync("/api/telemetry", Body(tokenA));
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Contains($"b-{id}", await wrong.Content.ReadAsStringAsync());
        Assert.Equal(0, await Requests($"a-{id}"));
        // A part without a token, and no key: 401.
        Assert.Equal(HttpStatusCode.Unauthorized, (await none.PostJsonAsync("/api/telemetry",
            $$"""{"servers":[{"serverId":"a-{{id}}","telemetry":{{records}} }]}""")).StatusCode);
        // A reader's key is not enough, and an ingest token in the header is not a key for this route.
        using var reader = api.As(SecuredApiFixture.Reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostJsonAsync("/api/telemetry", Body(tokenB))).StatusCode);
        using var agent = api.As(tokenA);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync("/api/telemetry", Body(tokenB))).StatusCode);
        Assert.Equal(0, await Requests($"a-{id}"));

        var right = await none.PostJsonAsync("/api/telemetry", Body(tokenB));
        Assert.Equal(HttpStatusCode.Accepted, right.StatusCode);
        Assert.Equal(2, (await right.JsonAsync()).GetProperty("accepted").GetInt32());
        Assert.Equal(1, await Requests($"a-{id}"));
        Assert.Equal(1, await Requests($"b-{id}"));
        // An operator's key needs no tokens.
        using var @operator = api.As(SecuredApiFixture.Operator);
        Assert.Equal(HttpStatusCode.Accepted, (await @operator.PostJsonAsync("/api/telemetry",
            $$"""{"servers":[{"serverId":"a-{{id}}","telemetry":{{records}} }]}""")).StatusCode);
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(tokenA) || line.Contains(tokenB));
    }

    [Fact]
    public async Task OTLP_metrics_take_an_operators_key_or_the_named_servers_own_ingest_token_and_nothing_else()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var id = Guid.NewGuid().ToString("N")[..6];
        const string server = """{"name":"S","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false}}""";
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/servers/bulk",
            $$"""{"servers":[{{server.Insert(1, $"\"id\":\"a-{id}\",")}},{{server.Insert(1, $"\"id\":\"b-{id}\",")}}]}""")).StatusCode);
        var tokenA = (await (await admin.PostAsync($"/api/servers/a-{id}/ingest-tokens", null)).JsonAsync()).GetProperty("token").GetString()!;
        var now = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000).ToString();
        string Resource(string service) =>
            $$$"""{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"{{{service}}}"}}]},"scopeMetrics":[{"metrics":[{"name":"mcp.server.operation.duration","unit":"s","histogram":{"aggregationTemporality":1,"dataPoints":[{"attributes":[{"key":"mcp.method.name","value":{"stringValue":"tools/call"}}],"timeUnixNano":"{{{now}}}","count":"2","sum":0.04,"bucketCounts":["2","0"],"explicitBounds":[0.05]}]}}]}]}""";
        string Body(params string[] services) => $$"""{"resourceMetrics":[{{string.Join(",", services.Select(Resource))}}]}""";
        async Task<long> Requests(string server) => (await (await admin.GetAsync($"/api/servers/{server}")).JsonAsync()).GetProperty("requestsInWindow").GetInt64();
        Task<HttpResponseMessage> Post(HttpClient client, string body) => client.PostAsync("/v1/metrics", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        using var agentA = api.As(tokenA);
        // A's token naming B too: refused whole, nothing taken for A either.
        var mixed = await Post(agentA, Body($"a-{id}", $"b-{id}"));
        Assert.Equal(HttpStatusCode.Forbidden, mixed.StatusCode);
        Assert.Contains($"b-{id}", await mixed.Content.ReadAsStringAsync());
        Assert.Equal(0, await Requests($"a-{id}"));
        // No key, a reader's key, and a token with nothing for its server are refused.
        using var none = api.As(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(none, Body($"a-{id}"))).StatusCode);
        using var reader = api.As(SecuredApiFixture.Reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(reader, Body($"a-{id}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(agentA, """{"resourceMetrics":[]}""")).StatusCode);
        // An ingest token is still only good for OTLP and its own server's telemetry.
        Assert.Equal(HttpStatusCode.Forbidden, (await agentA.GetAsync($"/api/servers/a-{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Post(agentA, Body($"a-{id}"))).StatusCode);
        Assert.Equal(2, await Requests($"a-{id}"));
        using var @operator = api.As(SecuredApiFixture.Operator);
        Assert.Equal(HttpStatusCode.OK, (await Post(@operator, Body($"a-{id}", $"b-{id}"))).StatusCode);
        Assert.Equal(4, await Requests($"a-{id}"));
        Assert.Equal(2, await Requests($"b-{id}"));
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(tokenA));
    }
}
