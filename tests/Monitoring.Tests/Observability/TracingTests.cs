using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Observability;

/// <summary>
/// Traces over OTLP, from the real API process (embedded mode) to a receiver on loopback: one request's spans run
/// from ASP.NET Core through the grain call and the delivery attempt to the outbound HTTP request, in one trace.
/// </summary>
public sealed class TracingTests
{
    [Fact]
    public async Task One_request_through_a_grain_and_out_is_one_trace()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var api = await EmbeddedApiProcess.StartAsync(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.Endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_BSP_SCHEDULE_DELAY", "100"));
        var http = api.Http;
        var created = await http.PostJsonAsync("/api/channels", $$"""{"id":"traced","type":"webhook","config":{"url":"{{hooks.UrlFor("/traced")}}"} }""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var test = await (await http.PostAsync("/api/channels/traced/test", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(test.GetProperty("delivered").GetBoolean());

        ReceivedSpan? server = null;
        await Eventually.TrueAsync(() =>
        {
            server = otlp.Spans.FirstOrDefault(s => s.Name.Contains("/api/channels/{id}/test", StringComparison.Ordinal));
            return server is not null
                && otlp.Spans.Any(s => s.TraceId == server.TraceId && s.Scope == "Monitoring.Notifications")
                && otlp.Spans.Any(s => s.TraceId == server.TraceId && s.Scope.StartsWith("System.Net.Http", StringComparison.Ordinal));
        }, "the request's spans", TimeSpan.FromSeconds(30));

        var trace = otlp.Spans.Where(s => s.TraceId == server!.TraceId).ToList();
        Assert.Contains(trace, s => s.Scope.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)); // the grain call
        var notify = trace.Single(s => s.Scope == "Monitoring.Notifications");
        Assert.Equal("notify webhook", notify.Name);
        var outbound = trace.Single(s => s.Scope.StartsWith("System.Net.Http", StringComparison.Ordinal));
        Assert.Equal(notify.SpanId, outbound.ParentSpanId); // the HTTP request is a child of the delivery attempt
        // A webhook's path may carry a credential (Slack's do): spans keep scheme, host and port only.
        Assert.EndsWith("/…", outbound.Attributes["url.full"]);
        Assert.DoesNotContain(trace.SelectMany(s => s.Attributes.Values), v => v.Contains(hooks.UrlFor("/traced")));
        Assert.Single(hooks.At("/traced"));
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_refused_before_it_is_read()
    {
        await using var api = await EmbeddedApiProcess.StartAsync(("Api__MaxRequestBodyBytes", "65536"));
        var http = api.Http;
        var huge = "{\"id\":\"big\",\"name\":\"" + new string('x', 100_000) + "\",\"endpoint\":\"http://127.0.0.1:9/mcp\"}";
        var response = await http.PostJsonAsync("/api/servers", huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/servers/big")).StatusCode);
    }

    [Fact]
    public async Task The_open_embedded_mode_refuses_to_listen_beyond_loopback()
    {
        var api = ClusterProcess.Start("api", Repository.Dll("Api"), [("Orleans__ClusterId", "open-" + Guid.NewGuid().ToString("N")[..8])],
            "--urls", $"http://0.0.0.0:{LocalPorts.Free()}");
        await api.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, api.Process.ExitCode);
        Assert.Contains("refusing to run open", api.Tail());
    }

    [Fact]
    public async Task The_orleans_dashboard_is_mounted_only_when_enabled()
    {
        async Task<HttpStatusCode> DashboardAsync(bool enabled)
        {
            await using var api = await EmbeddedApiProcess.StartAsync(("Dashboard__Enabled", enabled ? "true" : "false"));
            return (await api.Http.GetAsync("/dashboard")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.NotFound, await DashboardAsync(enabled: false));
        Assert.Equal(HttpStatusCode.OK, await DashboardAsync(enabled: true));
    }
}
