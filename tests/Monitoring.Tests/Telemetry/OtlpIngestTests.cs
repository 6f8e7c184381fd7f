using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Monitoring.Tests.Telemetry;

/// <summary>
/// OTLP/HTTP metrics ingest with OpenTelemetry's own .NET SDK and OTLP exporter as the client: a server instrumented
/// with the MCP semantic conventions reports mcp.server.operation.duration and the product sees its requests, errors
/// and latency, fires on them, and refuses what cannot be true. Its own API (fake clock starting now: the SDK stamps
/// points with the real clock).
/// </summary>
public sealed class OtlpIngestTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private const string Duration = "mcp.server.operation.duration";

    private static readonly double[] SemanticConventionBounds = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

    private MeterProvider Provider(string meterName, string serviceName, bool exponential = false) => Sdk.CreateMeterProviderBuilder()
        .AddMeter(meterName)
        .ConfigureResource(r => r.AddService(serviceName))
        .AddView(Duration, exponential ? new Base2ExponentialBucketHistogramConfiguration() : new ExplicitBucketHistogramConfiguration { Boundaries = SemanticConventionBounds })
        .AddOtlpExporter((exporter, reader) =>
        {
            exporter.Endpoint = new Uri("http://localhost/v1/metrics");
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            exporter.HttpClientFactory = () => api.CreateDefaultClient(new SynchronousBridge());
            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000; // exported when the test flushes
        })
        .Build()!;

    private async Task<JsonElement> StatusAsync(string serverId) => await (await api.Http.GetAsync($"/api/servers/{serverId}")).JsonAsync();

    [Fact]
    public async Task The_OpenTelemetry_SDK_reports_requests_errors_and_latency_and_a_cumulative_series_counts_each_request_once()
    {
        var s = new ApiScenario(api);
        await s.ServerAsync();
        await s.WebhookChannelAsync($"hook-{s.Id}", "hook");
        await s.RuleAsync($$""" "channels":["hook-{{s.Id}}"]""");
        using var meter = new Meter($"otlp-test-{s.Id}");
        var histogram = meter.CreateHistogram<double>(Duration, unit: "s");
        using var provider = Provider(meter.Name, s.ServerId);

        // 100 healthy tool calls, 30-45 ms: the error-rate rule (> 5%) stays quiet.
        for (var i = 0; i < 100; i++)
        {
            histogram.Record(0.030 + i * 0.00015, new KeyValuePair<string, object?>("mcp.method.name", "tools/call"), new KeyValuePair<string, object?>("gen_ai.tool.name", "search"));
        }
        Assert.True(provider.ForceFlush(10_000));
        var status = await StatusAsync(s.ServerId);
        Assert.Equal(100, status.GetProperty("requestsInWindow").GetInt64());
        var metrics = status.GetProperty("metrics");
        Assert.Equal(0, metrics.GetProperty("error_rate").GetDouble());
        // The exporter's buckets are 20-50 ms wide here; the window spreads them evenly and reads p95 between them.
        var p95 = metrics.GetProperty("p95_response_time").GetDouble();
        Assert.InRange(p95, 0.040, 0.0451);
        var quiet = await api.Http.GetAsync($"/api/alerts/{s.AlertId}");
        Assert.True(quiet.StatusCode == HttpStatusCode.NotFound || (await quiet.JsonAsync()).GetProperty("status").GetString() != "firing");

        // The SDK's default is cumulative: the next export carries all 100 again plus 20 errors. Only the 20 are new.
        for (var i = 0; i < 20; i++)
        {
            histogram.Record(0.5, new KeyValuePair<string, object?>("mcp.method.name", "tools/call"), new KeyValuePair<string, object?>("gen_ai.tool.name", "search"),
                new KeyValuePair<string, object?>("error.type", "tool_error"));
        }
        Assert.True(provider.ForceFlush(10_000), "the flush with the errors was not taken:\n" + api.Logs.About(s.ServerId));
        status = await StatusAsync(s.ServerId);
        Assert.Equal(120, status.GetProperty("requestsInWindow").GetInt64());
        Assert.Equal(20.0 / 120, status.GetProperty("metrics").GetProperty("error_rate").GetDouble(), 6);
        Assert.Equal("firing", await s.StatusAsync());
        await s.WaitForHooksAsync("hook", 1);

        // Flushing again with nothing new adds nothing.
        Assert.True(provider.ForceFlush(10_000));
        Assert.Equal(120, (await StatusAsync(s.ServerId)).GetProperty("requestsInWindow").GetInt64());
    }

    [Fact]
    public async Task Exponential_histograms_from_the_SDK_count_as_well_and_read_percentiles_within_their_finer_buckets()
    {
        var s = new ApiScenario(api);
        await s.ServerAsync();
        using var meter = new Meter($"otlp-exp-{s.Id}");
        var histogram = meter.CreateHistogram<double>(Duration, unit: "ms");
        using var provider = Provider(meter.Name, s.ServerId, exponential: true);
        // 200 calls from 1 ms to 200 ms, 10 of them failed: p95 near 190 ms, reported in milliseconds.
        for (var i = 1; i <= 200; i++)
        {
            histogram.Record(i, new KeyValuePair<string, object?>("mcp.method.name", "tools/call"),
                i % 20 == 0 ? new KeyValuePair<string, object?>("error.type", "timeout") : new KeyValuePair<string, object?>("gen_ai.tool.name", "search"));
        }
        Assert.True(provider.ForceFlush(10_000));
        var status = await StatusAsync(s.ServerId);
        Assert.Equal(200, status.GetProperty("requestsInWindow").GetInt64());
        var metrics = status.GetProperty("metrics");
        Assert.Equal(0.05, metrics.GetProperty("error_rate").GetDouble(), 6);
        Assert.InRange(metrics.GetProperty("p95_response_time").GetDouble(), 0.190 * 0.95, 0.190 * 1.05);
        Assert.Equal(0.1005, metrics.GetProperty("average_response_time").GetDouble(), 4);
    }

    private static string Point(string method, long count, string buckets, string bounds = "[0.01,0.1]", string extra = "", string time = "") =>
        $$$"""{"attributes":[{"key":"mcp.method.name","value":{"stringValue":"{{{method}}}"}}{{{extra}}}],"startTimeUnixNano":"{{{Nanos(DateTimeOffset.UtcNow.AddSeconds(-10))}}}","timeUnixNano":"{{{(time.Length > 0 ? time : Nanos(DateTimeOffset.UtcNow))}}}","count":"{{{count}}}","sum":{{{count * 0.05}}},"bucketCounts":{{{buckets}}},"explicitBounds":{{{bounds}}}}""";

    private static string Nanos(DateTimeOffset at) => ((at.ToUnixTimeMilliseconds()) * 1_000_000).ToString();

    private static string Request(params (string Service, string Unit, string Points)[] resources) =>
        $$"""{"resourceMetrics":[{{string.Join(",", resources.Select(r =>
            $$$"""{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"{{{r.Service}}}"}}]},"scopeMetrics":[{"scope":{"name":"t"},"metrics":[{"name":"other.metric","unit":"1","sum":{"dataPoints":[{"asInt":"5"}],"aggregationTemporality":1,"isMonotonic":true}},{"name":"{{{Duration}}}","unit":"{{{r.Unit}}}","histogram":{"aggregationTemporality":1,"dataPoints":[{{{r.Points}}}]}}]}]}"""))}}]}""";

    private static HttpContent Json(string body, bool gzip = false)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        if (gzip)
        {
            using var compressed = new MemoryStream();
            using (var zip = new GZipStream(compressed, CompressionLevel.Fastest)) zip.Write(bytes);
            bytes = compressed.ToArray();
        }
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (gzip) content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    [Fact]
    public async Task OTLP_JSON_with_gzip_is_taken_and_points_for_no_registered_server_or_in_an_unknown_unit_are_counted_as_rejected()
    {
        var s = new ApiScenario(api);
        await s.ServerAsync();
        var body = Request(
            (s.ServerId, "ms", Point("tools/call", 10, "[2,8,0]", "[10,100]", """,{"key":"error.type","value":{"stringValue":"timeout"}}""")),
            (s.ServerId, "s", Point("resources/read", 30, "[30,0,0]")),
            ($"nobody-{s.Id}", "s", Point("tools/call", 5, "[5,0,0]")),
            (s.ServerId, "By", Point("tools/call", 7, "[7,0,0]")));
        var response = await api.Http.PostAsync("/v1/metrics", Json(body, gzip: true));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString());
        var partial = JsonDocument.Parse(text).RootElement.GetProperty("partialSuccess");
        Assert.Equal("2", partial.GetProperty("rejectedDataPoints").ToString());
        Assert.Contains($"'nobody-{s.Id}' is not a registered server", partial.GetProperty("errorMessage").GetString());
        Assert.Contains("unit 'By'", partial.GetProperty("errorMessage").GetString());

        var status = await StatusAsync(s.ServerId);
        Assert.Equal(40, status.GetProperty("requestsInWindow").GetInt64());
        Assert.Equal(0.25, status.GetProperty("metrics").GetProperty("error_rate").GetDouble(), 6);

        // Everything accepted: an empty answer.
        var clean = await api.Http.PostAsync("/v1/metrics", Json(Request((s.ServerId, "s", Point("ping", 1, "[1,0,0]")))));
        Assert.Equal("{ }", (await clean.Content.ReadAsStringAsync()).Trim());
        Assert.Equal(41, (await StatusAsync(s.ServerId)).GetProperty("requestsInWindow").GetInt64());
    }

    [Fact]
    public async Task JSON_bulk_and_OTLP_answer_a_breach_that_cannot_reach_its_alert_alike_and_take_it_when_sent_again()
    {
        var s = new ApiScenario(api);
        await s.ServerAndRuleAsync(""" "channels":[]""");
        const string failing = """{"requests":[{"method":"tools/call","tool":"search","durationMs":120,"success":false}]}""";
        var otlp = Request((s.ServerId, "s", Point("tools/call", 10, "[0,10,0]", extra: """,{"key":"error.type","value":{"stringValue":"timeout"}}""")));
        api.Faults.Fail(s.AlertId); // the alert's silo is failing over: every call to it fails
        try
        {
            var single = await api.Http.PostJsonAsync($"/api/servers/{s.ServerId}/telemetry", failing);
            await single.AssertProblemAsync(503);
            Assert.NotNull(single.Headers.RetryAfter);
            Assert.Contains(s.ServerId, await single.Content.ReadAsStringAsync());

            var bulk = await api.Http.PostJsonAsync("/api/telemetry", $$"""{"servers":[{"serverId":"{{s.ServerId}}","telemetry":{{failing}} }]}""");
            Assert.Equal(HttpStatusCode.Accepted, bulk.StatusCode);
            Assert.Equal([s.ServerId], (await bulk.JsonAsync()).GetProperty("retry").EnumerateArray().Select(r => r.GetString()));

            // OTLP/HTTP's retryable answer: 503 with Retry-After and a google.rpc.Status (UNAVAILABLE), so collectors resend.
            var collector = await api.Http.PostAsync("/v1/metrics", Json(otlp));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, collector.StatusCode);
            Assert.NotNull(collector.Headers.RetryAfter);
            var status = JsonDocument.Parse(await collector.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(14, status.GetProperty("code").GetInt32());
            Assert.Contains(s.ServerId, status.GetProperty("message").GetString());
        }
        finally
        {
            api.Faults.Heal(s.AlertId);
        }
        // Not accepted means not kept: none of the three refused pushes left a request in the window, so a resend is the only copy.
        Assert.Equal(0, (await StatusAsync(s.ServerId)).GetProperty("requestsInWindow").GetInt64());

        // Sent again once the alert can be reached: taken, once, and the breach fires.
        var again = await api.Http.PostAsync("/v1/metrics", Json(otlp));
        Assert.True(again.StatusCode == HttpStatusCode.OK, $"{again.StatusCode}: {await again.Content.ReadAsStringAsync()}\n{api.Logs.About(s.ServerId)}");
        await Eventually.TrueAsync(async () => await s.StatusAsync() == "firing", "the breach reaching its alert");
        Assert.Equal(10, (await StatusAsync(s.ServerId)).GetProperty("requestsInWindow").GetInt64());
    }

    [Fact]
    public async Task A_listing_that_cannot_be_written_holds_back_neither_the_push_nor_the_page_and_catches_up_with_the_next_step()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ch-{s.Id}", "page");
        await s.ServerAndRuleAsync($$""" "channels":["ch-{{s.Id}}"]""");
        // The alert's and the server's listing shards fail every call, as a shard stuck in activation would time out.
        string[] shards = [Listings.ListingShards.KeyFor(Listings.AlertEntry.Kind, s.AlertId), Listings.ListingShards.KeyFor(Listings.ServerEntry.Kind, s.ServerId)];
        foreach (var shard in shards) api.Faults.Fail(shard);
        var refusedBefore = api.Faults.Refused;
        try
        {
            var push = await api.Http.PostAsync("/v1/metrics", Json(Request((s.ServerId, "s", Point("tools/call", 10, "[0,10,0]", extra: """,{"key":"error.type","value":{"stringValue":"timeout"}}""")))));
            Assert.True(push.StatusCode == HttpStatusCode.OK, $"{push.StatusCode}: {await push.Content.ReadAsStringAsync()}\n{api.Logs.About(s.ServerId)}");
            Assert.Equal("firing", await s.StatusAsync());
            await s.WaitForHooksAsync("page", 1);
            Assert.True(api.Faults.Refused > refusedBefore, "the listing writes were tried and refused");
        }
        finally
        {
            foreach (var shard in shards) api.Faults.Heal(shard);
        }
        async Task<string[]> ListedAsync() =>
            [.. (await (await api.Http.GetAsync($"/api/alerts?serverId={s.ServerId}")).JsonAsync()).GetProperty("items").EnumerateArray().Select(a => a.GetProperty("status").GetString()!)];
        Assert.Empty(await ListedAsync());

        // The next step (the server tells its open alert again within a reminder period) writes what was missed.
        await s.AdvanceUntilAsync(async () => (await ListedAsync()) is ["firing"], "the alert listed as firing", TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(3));
        Assert.Single(s.Hooks("page"));
    }

    [Fact]
    public async Task A_point_that_cannot_be_true_refuses_the_request_says_where_and_takes_nothing()
    {
        var s = new ApiScenario(api);
        await s.ServerAsync();
        async Task Refused(HttpContent content, HttpStatusCode expected, string where)
        {
            var response = await api.Http.PostAsync("/v1/metrics", content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(where, text);
        }
        var good = Point("tools/call", 3, "[3,0,0]");
        // Bucket counts that do not add up to count, in the second resource: the first resource's good point is not taken either.
        await Refused(Json(Request((s.ServerId, "s", good), (s.ServerId, "s", Point("tools/call", 5, "[1,1,1]")))), HttpStatusCode.BadRequest,
            "resourceMetrics[1].scopeMetrics[0].metrics[1].histogram.dataPoints[0].bucketCounts");
        await Refused(Json(Request((s.ServerId, "s", Point("tools/call", 3, "[3,0,0]", "[0.1,0.01]")))), HttpStatusCode.BadRequest, "explicitBounds[1]");
        await Refused(Json(Request((s.ServerId, "s", Point("tools/call", 3, "[3,0]")))), HttpStatusCode.BadRequest, "one more");
        await Refused(Json(Request((s.ServerId, "s", Point("tools/call", 3, "[3,0,0]", time: Nanos(DateTimeOffset.UtcNow.AddHours(1)))))), HttpStatusCode.BadRequest, "future");
        await Refused(Json(Request((s.ServerId, "s", Point("tools/call\\u0000x", 3, "[3,0,0]")))), HttpStatusCode.BadRequest, "mcp.method.name");
        await Refused(Json("""{"resourceMetrics":[{"scopeMetrics":"nope"}]}"""), HttpStatusCode.BadRequest, "ExportMetricsServiceRequest");
        await Refused(Json("""{"resourceMetrics":[],"resourceMetrics":[]}"""), HttpStatusCode.BadRequest, "twice");
        var garbage = new ByteArrayContent([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
        garbage.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        await Refused(garbage, HttpStatusCode.BadRequest, "not an OTLP");
        var notGzip = Json(Request((s.ServerId, "s", good)));
        notGzip.Headers.ContentEncoding.Add("gzip");
        await Refused(notGzip, HttpStatusCode.BadRequest, "gzip");
        await Refused(new StringContent("x", Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "x-protobuf");
        var brotli = Json(Request((s.ServerId, "s", good)));
        brotli.Headers.ContentEncoding.Add("br");
        await Refused(brotli, HttpStatusCode.BadRequest, "Content-Encoding");
        // gzip is refused on every other route.
        var elsewhere = Json("""{"requests":[]}""", gzip: true);
        var other = await api.Http.PostAsync($"/api/servers/{s.ServerId}/telemetry", elsewhere);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, other.StatusCode);

        Assert.Equal(0, (await StatusAsync(s.ServerId)).GetProperty("requestsInWindow").GetInt64());
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains("Unhandled", StringComparison.OrdinalIgnoreCase) && line.Contains("/v1/metrics"));
    }
}

/// <summary>
/// The OTLP exporter sends synchronously from its own thread; the in-memory test server only answers asynchronously.
/// This bridges the two (what goes over the wire is the exporter's own request, unchanged).
/// </summary>
internal sealed class SynchronousBridge : DelegatingHandler
{
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken).GetAwaiter().GetResult();
}
