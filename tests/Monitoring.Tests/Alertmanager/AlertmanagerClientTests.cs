using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Alertmanager;

/// <summary>
/// The clients nobody here wrote, against the API process on real time: Debian's Prometheus 2.42 sending the alerts of
/// its rules, and amtool 0.25 querying, adding, silencing and reading the configuration.
/// </summary>
public sealed class AlertmanagerClientTests : IAsyncLifetime
{
    private EmbeddedApiProcess _api = null!;
    private WebhookReceiver _hooks = null!;
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private string Url => _api.Http.BaseAddress!.ToString().TrimEnd('/');

    public async ValueTask InitializeAsync()
    {
        _api = await EmbeddedApiProcess.StartAsync();
        _hooks = await WebhookReceiver.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await _api.Http.PostJsonAsync("/api/channels",
            $$"""{"id":"hook","type":"webhook","config":{"url":"{{_hooks.UrlFor("/am")}}"} }""")).StatusCode);
        var routing = await _api.Http.PutJsonAsync("/api/routing", """
            {"route":{"receiver":"ops","groupBy":["alertname"],"groupWait":"1s","groupInterval":"1s",
              "routes":[{"matchers":["severity=\"page\""],"receiver":"pager","groupBy":["alertname","instance"]}]},
             "receivers":[{"name":"ops","channels":["hook"]},{"name":"pager","channels":["hook"]}]}
            """);
        Assert.True(routing.StatusCode == HttpStatusCode.OK, await routing.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _hooks.DisposeAsync();
    }

    private async Task<string> AmtoolAsync(params string[] args)
    {
        var start = new ProcessStartInfo(LocalProcesses.Find("amtool", "/usr/bin/amtool"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add($"--alertmanager.url={Url}");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"amtool {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        // amtool compares the API's reported version with its own and warns on every command when they differ.
        Assert.DoesNotContain("Warning", await error);
        return await output;
    }

    [Fact]
    public async Task Amtool_adds_queries_silences_and_reads_the_routing_tree()
    {
        await AmtoolAsync("alert", "add", $"alertname=DiskFull{_id}", "instance=db1", "--annotation=summary=disk is full");
        var query = await AmtoolAsync("alert", "query", $"alertname=DiskFull{_id}");
        Assert.Contains($"DiskFull{_id}", query);
        Assert.Contains("disk is full", query);

        var silenceId = (await AmtoolAsync("silence", "add", $"alertname=DiskFull{_id}", "--comment=maintenance", "--author=ops", "--duration=1h")).Trim();
        Assert.Matches("^[0-9a-f-]{36}$", silenceId);
        Assert.Contains(silenceId, await AmtoolAsync("silence", "query", "--quiet"));
        Assert.Contains("maintenance", await AmtoolAsync("silence", "query", $"alertname=DiskFull{_id}"));
        // The silence reaches the alert (the silo reads silences at most a second late).
        await Eventually.TrueAsync(async () => (await AmtoolAsync("alert", "query", "--silenced", $"alertname=DiskFull{_id}")).Contains($"DiskFull{_id}"), "the alert silenced");
        await AmtoolAsync("silence", "expire", silenceId);
        Assert.DoesNotContain(silenceId, await AmtoolAsync("silence", "query", "--quiet"));
        Assert.Contains(silenceId, await AmtoolAsync("silence", "query", "--expired", "--quiet"));

        var routes = await AmtoolAsync("config", "routes", "show");
        Assert.Contains("receiver: ops", routes);
        Assert.Contains("receiver: pager", routes);
        Assert.Contains("severity=\"page\"", routes);
        Assert.Contains("pager", await AmtoolAsync("config", "routes", "test", "severity=page"));

        // The generated configuration is one amtool accepts as an Alertmanager configuration file.
        var status = await (await _api.Http.GetAsync("/api/v2/status")).JsonAsync();
        var file = Path.Combine(Path.GetTempPath(), $"am-{_id}.yml");
        await File.WriteAllTextAsync(file, status.GetProperty("config").GetProperty("original").GetString());
        var check = new ProcessStartInfo(LocalProcesses.Find("amtool", "/usr/bin/amtool")) { RedirectStandardOutput = true, RedirectStandardError = true };
        check.ArgumentList.Add("check-config");
        check.ArgumentList.Add(file);
        using var checker = Process.Start(check)!;
        var checkOutput = await checker.StandardOutput.ReadToEndAsync() + await checker.StandardError.ReadToEndAsync();
        await checker.WaitForExitAsync();
        Assert.True(checker.ExitCode == 0, checkOutput);
        Assert.Contains("SUCCESS", checkOutput);
        File.Delete(file);
    }

    [Fact]
    public async Task Prometheus_alerts_are_grouped_notified_and_resolved_by_its_resolve_message_and_by_its_lease()
    {
        // A scrape target whose gauge the test sets.
        var value = 1;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var target = builder.Build();
        target.MapGet("/metrics", () => Results.Text($"# TYPE gateway_up gauge\ngateway_up{{gateway=\"g{_id}\"}} {Volatile.Read(ref value)}\n", "text/plain; version=0.0.4"));
        await target.StartAsync();
        var targetAddress = new Uri(target.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Authority;

        var directory = Directory.CreateTempSubdirectory("prometheus-");
        await File.WriteAllTextAsync(Path.Combine(directory.FullName, "rules.yml"), $$"""
            groups:
              - name: gateways
                interval: 1s
                rules:
                  - alert: GatewayDown{{_id}}
                    expr: gateway_up == 0
                    labels: {severity: page}
                    annotations: {summary: "gateway {{"{{"}} $labels.gateway {{"}}"}} is down"}
            """);
        await File.WriteAllTextAsync(Path.Combine(directory.FullName, "prometheus.yml"), $$"""
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [rules.yml]
            scrape_configs:
              - job_name: gateways
                static_configs: [{targets: ["{{targetAddress}}"]}]
            alerting:
              alertmanagers:
                - api_version: v2
                  static_configs: [{targets: ["{{new Uri(Url).Authority}}"]}]
            """);
        Process Start() => LocalProcesses.Start(LocalProcesses.Find("prometheus", "/usr/bin/prometheus"),
            $"--config.file={Path.Combine(directory.FullName, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(directory.FullName, "data")}",
            $"--web.listen-address=127.0.0.1:{LocalPorts.Free()}", "--rules.alert.resend-delay=1s");
        var prometheus = Start();
        try
        {
            // Down: Prometheus fires, the cluster groups it under the pager route and notifies once.
            Volatile.Write(ref value, 0);
            var firing = await WaitForAsync(h => h.Body.GetProperty("incident").GetProperty("firing").GetInt32() == 1 && h.RawBody.Contains($"GatewayDown{_id}"), "the firing message");
            Assert.Contains($"gateway g{_id} is down", firing.RawBody);
            Assert.Equal("pager", firing.Body.GetProperty("incident").GetProperty("receiver").GetString());
            var alerts = await (await _api.Http.GetAsync($"/api/v2/alerts?filter=alertname%3D%22GatewayDown{_id}%22")).JsonAsync();
            AlertmanagerSchema.AssertValid("gettableAlerts", alerts);
            Assert.Contains("http", alerts[0].GetProperty("generatorURL").GetString());

            // Up again: Prometheus sends the resolved alert, and the incident resolves.
            Volatile.Write(ref value, 1);
            await WaitForAsync(h => h.Body.GetProperty("context").GetProperty("notification").GetString() == "resolved" && h.RawBody.Contains($"GatewayDown{_id}"), "the resolved message");

            // Down again, then Prometheus is stopped: no re-send extends the lease (4 evaluation intervals), so it resolves.
            var before = _hooks.At("/am").Count;
            Volatile.Write(ref value, 0);
            await WaitForAsync(h => h.Body.GetProperty("context").GetProperty("notification").GetString() == "firing" && h.RawBody.Contains($"GatewayDown{_id}"), "firing again", before);
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            var stopped = Stopwatch.StartNew();
            await WaitForAsync(h => h.Body.GetProperty("context").GetProperty("notification").GetString() == "resolved" && h.RawBody.Contains($"GatewayDown{_id}"), "resolved by the lease", before);
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(30), $"the lease ran out after {stopped.Elapsed}");
        }
        finally
        {
            if (!prometheus.HasExited) prometheus.Kill();
            directory.Delete(recursive: true);
        }
    }

    private async Task<ReceivedHook> WaitForAsync(Func<ReceivedHook, bool> match, string what, int skip = 0)
    {
        ReceivedHook? found = null;
        await Eventually.TrueAsync(() => (found = _hooks.At("/am").Skip(skip).FirstOrDefault(match)) is not null, what, TimeSpan.FromSeconds(60));
        return found!;
    }

    [Fact]
    public async Task A_sender_key_posts_alerts_with_bearer_or_basic_auth_and_may_do_nothing_else()
    {
        const string admin = "admin-key-for-am-tests", sender = "sender-key-for-prometheus";
        await using var api = await EmbeddedApiProcess.StartAsync(
            ("Auth__Keys__0__Name", "admin"), ("Auth__Keys__0__Role", "Admin"), ("Auth__Keys__0__Hash", Monitoring.Security.KeyMaterial.Hash(admin)),
            ("Auth__Keys__1__Name", "prometheus"), ("Auth__Keys__1__Role", "Sender"), ("Auth__Keys__1__Hash", Monitoring.Security.KeyMaterial.Hash(sender)));
        async Task<HttpStatusCode> Send(HttpMethod method, string path, AuthenticationHeaderValue? auth, string? body = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = auth;
            return (await api.Http.SendAsync(request)).StatusCode;
        }
        var alert = $$"""[{"labels":{"alertname":"Auth{{_id}}"} }]""";
        var bearer = new AuthenticationHeaderValue("Bearer", sender);
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"prometheus:{sender}")));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Post, "/api/v2/alerts", bearer, alert));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Post, "/api/v2/alerts", basic, alert));
        Assert.Equal(HttpStatusCode.Unauthorized, await Send(HttpMethod.Post, "/api/v2/alerts", null, alert));
        Assert.Equal(HttpStatusCode.Unauthorized, await Send(HttpMethod.Post, "/api/v2/alerts", new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("prometheus:wrong"))), alert));
        Assert.Equal(HttpStatusCode.Forbidden, await Send(HttpMethod.Get, "/api/v2/alerts", bearer));
        Assert.Equal(HttpStatusCode.Forbidden, await Send(HttpMethod.Post, "/api/v2/silences", basic, "{}"));
        Assert.Equal(HttpStatusCode.Forbidden, await Send(HttpMethod.Get, "/api/servers", bearer));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Get, "/api/v2/alerts", new AuthenticationHeaderValue("Bearer", admin)));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Get, "/-/healthy", null));
    }
}
