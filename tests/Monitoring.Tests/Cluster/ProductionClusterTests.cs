using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Cluster;

/// <summary>
/// The production cluster as processes on loopback: silos and the API sharing only Redis and PostgreSQL. These run
/// on real time (separate processes cannot share a fake clock), so escalation delays are seconds and every wait is
/// a condition with a deadline.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class ProductionClusterTests(ITestOutputHelper output)
{
    private const int Servers = 6;

    private static async Task SetUpAsync(HttpClient http, WebhookReceiver hooks, string id, string level2Delay, string level1Extra = "", string level2Extra = "")
    {
        async Task Post(string url, string body)
        {
            var response = await http.PostJsonAsync(url, body);
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Post("/api/channels", $$"""{"id":"l1-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l1")}}"{{level1Extra}} } }""");
        await Post("/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"{{level2Extra}} } }""");
        await Post("/api/escalation-policies",
            $$"""{"id":"p-{{id}}","levels":[{"delay":"0s","channels":["l1-{{id}}"]},{"delay":"{{level2Delay}}","channels":["l2-{{id}}"]}]}""");
        await Post("/api/rules",
            $$"""{"id":"r-{{id}}","name":"High error rate","condition":"error_rate > 0.05","severity":"critical","channels":[],"escalationPolicy":"p-{{id}}","autoResolve":false,"selector":{"t":"{{id}}"} }""");
        for (var i = 0; i < Servers; i++)
        {
            await Post("/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"Search {{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
        }
        for (var i = 0; i < Servers; i++)
        {
            var push = await http.PostJsonAsync($"/api/servers/s{i}-{id}/telemetry", """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""");
            Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
        }
    }

    private static string AlertId(string id, int i) => $"r-{id}:s{i}-{id}";

    [Fact]
    public async Task A_killed_silos_alerts_pending_escalations_and_undelivered_notifications_carry_on_in_the_others()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        // Level 1's receiver refuses every first attempt, so its notifications wait in the channel's outbox to retry.
        hooks.FailNext($"/{id}/l1", Servers);
        // Level 2 waits 20 s: locating 12 alerts on a loaded machine took more than 10 s once, and the drill needs it pending.
        await SetUpAsync(http, hooks, id, level2Delay: "20s", level1Extra: ""","retry":{"initialDelay":"15s","maxDelay":"20s"}""");
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));

        // Kill the silo that holds level 1's channel, with its outbox full and level 2 still pending.
        async Task<string?> Locate(string kind, string key) =>
            (await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/{kind}/{key}")).GetProperty("silo").GetString();
        var victimAddress = (await Locate("channel", $"l1-{id}"))!;
        var victim = cluster.Silos.Single(s => victimAddress.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        var placement = new Dictionary<string, string?>();
        for (var i = 0; i < Servers; i++) placement[AlertId(id, i)] = await Locate("alert", AlertId(id, i));
        var moved = placement.Where(p => p.Value == victimAddress).Select(p => p.Key).ToArray();
        Assert.Empty(hooks.At($"/{id}/l2")); // the drill needs level 2 pending
        Assert.Equal(Servers, hooks.At($"/{id}/l1").Count); // every first attempt failed; none delivered yet

        var killedAt = Stopwatch.GetTimestamp();
        victim.Kill();

        await cluster.WaitForDeadAsync(victim, TimeSpan.FromSeconds(60));
        var detected = Stopwatch.GetElapsedTime(killedAt);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(moved.Length > 0 ? $"/api/alerts/{moved[0]}" : $"/api/channels/l1-{id}/deliveries");
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, "the killed silo's grains served again", TimeSpan.FromSeconds(60));
        var served = Stopwatch.GetElapsedTime(killedAt);

        // The outbox carried on elsewhere: every level 1 notification delivered, each once more with the same key.
        await Eventually.TrueAsync(() => hooks.At($"/{id}/l1").Select(h => h.Headers["Idempotency-Key"]).Distinct().Count() == Servers
            && hooks.At($"/{id}/l1").Count >= 2 * Servers, "every level 1 notification retried", TimeSpan.FromSeconds(90));
        var outboxDrained = Stopwatch.GetElapsedTime(killedAt);
        // Every alert's escalation still reaches level 2, including those that lived on the killed silo.
        var level2 = await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        var reached = Stopwatch.GetElapsedTime(killedAt);
        Assert.Equal(Servers, level2.Select(h => h.Body.GetProperty("alert").GetProperty("id").GetString()).Distinct().Count());
        output.WriteLine($"killed {victim.Name} holding channel l1 and {moved.Length} of {Servers} alerts; declared dead after {detected.TotalSeconds:F1}s; " +
            $"its grains served again after {served.TotalSeconds:F1}s; its outbox delivered after {outboxDrained.TotalSeconds:F1}s; " +
            $"every level 2 delivered {reached.TotalSeconds:F1}s after the kill");

        // No alert lost, and each one's history complete: pending, firing, escalated.
        var listed = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?ruleId=r-{id}");
        Assert.Equal(Servers, listed.GetProperty("total").GetInt32());
        var history = await http.GetFromJsonAsync<JsonElement>($"/api/alerts/history?ruleId=r-{id}&limit=1000");
        foreach (var alert in placement.Keys)
        {
            var steps = history.GetProperty("items").EnumerateArray().Where(h => h.GetProperty("alertId").GetString() == alert)
                .OrderBy(h => h.GetProperty("sequence").GetInt32()).Select(h => $"{h.GetProperty("from").GetString()}->{h.GetProperty("to").GetString()}").ToArray();
            Assert.Equal(["inactive->pending", "pending->firing", "firing->escalated"], steps);
        }

        // Every surviving process is ready, and its metrics pass Prometheus' linter.
        foreach (var silo in cluster.Silos.Where(s => s != victim))
        {
            using var silos = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{silo.HttpPort}") };
            var ready = await silos.GetFromJsonAsync<JsonElement>("/health/ready");
            Assert.Equal(["membership", "postgres", "redis"], ready.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());
            Assert.All(ready.GetProperty("checks").EnumerateObject(), c => Assert.Equal("healthy", c.Value.GetProperty("status").GetString()));
            var siloMetrics = await silos.GetStringAsync("/metrics");
            Assert.Contains("mcp_alerting_rule_evaluations_total", siloMetrics);
            Assert.Contains("microsoft_orleans_", siloMetrics);
            var (siloLint, siloLintOutput) = await Promtool.CheckMetricsAsync(siloMetrics);
            Assert.True(siloLint == 0, siloLintOutput);
        }
        var apiReady = await http.GetFromJsonAsync<JsonElement>("/health/ready");
        Assert.Equal(["cluster", "grains", "postgres", "redis"], apiReady.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());
        var (apiLint, apiLintOutput) = await Promtool.CheckMetricsAsync(await http.GetStringAsync("/metrics"));
        Assert.True(apiLint == 0, apiLintOutput);
    }

    [Fact]
    public async Task A_silo_stopped_with_sigterm_hands_off_without_losing_in_flight_notifications()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 2);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        // The receiver refuses every first attempt, so every notification is in the outbox, retrying, at SIGTERM.
        hooks.FailNext($"/{id}/l1", Servers);
        await SetUpAsync(http, hooks, id, level2Delay: "1h", level1Extra: ""","retry":{"initialDelay":"20s","maxDelay":"20s"}""");
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));
        var holder = (await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/channel/l1-{id}")).GetProperty("silo").GetString()!;
        var silo = cluster.Silos.Single(s => holder.Contains($":{s.SiloPort}:", StringComparison.Ordinal));

        var stopping = Stopwatch.GetTimestamp();
        silo.Terminate();
        await silo.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var stopped = Stopwatch.GetElapsedTime(stopping);
        Assert.Equal(0, silo.Process.ExitCode);

        // Every notification that was in flight is delivered by the other silo, none lost.
        await Eventually.TrueAsync(() => hooks.At($"/{id}/l1").Select(h => h.Headers["Idempotency-Key"]).Distinct().Count() == Servers
            && hooks.At($"/{id}/l1").Count >= 2 * Servers, "every in-flight notification delivered", TimeSpan.FromSeconds(60));
        var delivered = Stopwatch.GetElapsedTime(stopping);
        // A receiver has a message just before its worker stores the outcome.
        await Eventually.TrueAsync(async () => (await http.GetFromJsonAsync<JsonElement>($"/api/channels/l1-{id}/deliveries"))
            .GetProperty("items").EnumerateArray().Count(d => d.GetProperty("status").GetString() == "delivered") == Servers, "every delivery recorded", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        output.WriteLine($"SIGTERM to {silo.Name}: exited cleanly after {stopped.TotalSeconds:F1}s; its {Servers} in-flight notifications delivered {delivered.TotalSeconds:F1}s after the signal");
    }

    [Fact]
    public async Task After_a_full_restart_everything_and_the_pending_escalation_come_back()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 2);
        var id = Guid.NewGuid().ToString("N")[..6];
        const string secret = "whsec-sealed-at-rest-4711";
        await SetUpAsync(cluster.Http, hooks, id, level2Delay: "15s", level2Extra: $$""","signingSecret":"{{secret}}" """);
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));

        // A probe header (a bearer token) is sealed at rest too, in the server's row and in its listing.
        const string bearer = "Bearer probe-token-sealed-0815";
        Assert.Equal(HttpStatusCode.Created, (await cluster.Http.PostJsonAsync("/api/servers",
            $$"""{"id":"sealed-{{id}}-probe","name":"S","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false,"headers":{"Authorization":"{{bearer}}"} } }""")).StatusCode);

        // Secrets are sealed at rest: the channel's row in PostgreSQL holds no trace of the signing secret.
        await using (var database = Npgsql.NpgsqlDataSource.Create(cluster.PostgresConnectionString))
        await using (var command = database.CreateCommand($"SELECT payload::text FROM {cluster.Schema}.grain_state WHERE grain_key = 'l2-{id}' AND state_name = 'channel'"))
        {
            var row = (string)(await command.ExecuteScalarAsync())!;
            Assert.DoesNotContain(secret, row);
            Assert.Contains("dp1:", row);
        }
        await using (var database = Npgsql.NpgsqlDataSource.Create(cluster.PostgresConnectionString))
        await using (var command = database.CreateCommand(
            $"SELECT string_agg(payload::text, ' ') FROM (SELECT payload FROM {cluster.Schema}.grain_state UNION ALL SELECT payload FROM {cluster.Schema}.listing) rows"))
        {
            var everything = (string)(await command.ExecuteScalarAsync())!;
            Assert.Contains("Authorization", everything);
            Assert.DoesNotContain("probe-token-sealed-0815", everything);
            Assert.DoesNotContain(secret, everything);
        }

        await cluster.KillAllAsync();
        var stoppedAt = Stopwatch.GetTimestamp();
        await cluster.StartProcessesAsync(silos: 2);
        output.WriteLine($"cluster back {Stopwatch.GetElapsedTime(stoppedAt).TotalSeconds:F1}s after the stop");
        var http = cluster.Http;

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/rules/r-{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/escalation-policies/p-{id}")).StatusCode);
        var channels = await http.GetFromJsonAsync<JsonElement>("/api/channels");
        Assert.Contains(channels.GetProperty("items").EnumerateArray(), c => c.GetProperty("id").GetString() == $"l2-{id}");
        var servers = await http.GetFromJsonAsync<JsonElement>($"/api/servers?t={id}");
        Assert.Equal(Servers, servers.GetProperty("items").EnumerateArray().Count(s => s.GetProperty("id").GetString()!.EndsWith(id, StringComparison.Ordinal)));
        var alert = await http.GetFromJsonAsync<JsonElement>($"/api/alerts/{AlertId(id, 0)}");
        Assert.Contains(alert.GetProperty("status").GetString(), new[] { "firing", "escalated" }); // level 2 may already be due
        Assert.Equal(1, alert.GetProperty("episode").GetInt32());

        // The escalations pending at the stop fire after the restart, brought back by their reminders.
        var level2 = await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        Assert.Equal(Servers, hooks.At($"/{id}/l1").Count); // and level 1 was not sent again
        // New processes opened the sealed secret with the cluster's shared key ring: the signatures check out.
        Assert.All(level2, hook => Assert.Equal(
            Monitoring.Channels.Webhook.WebhookSender.Sign(secret, long.Parse(hook.Headers[Monitoring.Channels.Webhook.WebhookSender.TimestampHeader]), System.Text.Encoding.UTF8.GetBytes(hook.RawBody)),
            hook.Headers[Monitoring.Channels.Webhook.WebhookSender.SignatureHeader]));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProductionClusterCollection
{
    public const string Name = "production-cluster";
}
