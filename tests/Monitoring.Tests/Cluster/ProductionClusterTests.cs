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

    private static async Task SetUpAsync(HttpClient http, WebhookReceiver hooks, string id, string level2Delay)
    {
        async Task Post(string url, string body)
        {
            var response = await http.PostJsonAsync(url, body);
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Post("/api/channels", $$"""{"id":"l1-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l1")}}"} }""");
        await Post("/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"} }""");
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
    public async Task A_killed_silos_alerts_and_pending_escalations_carry_on_in_the_others()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        await SetUpAsync(http, hooks, id, level2Delay: "8s");
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));

        // Kill the silo that holds the most alerts, while their level 2 is still pending.
        var placement = new Dictionary<string, string>();
        for (var i = 0; i < Servers; i++)
        {
            var located = await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/alert/{AlertId(id, i)}");
            placement[AlertId(id, i)] = located.GetProperty("silo").GetString()!;
        }
        var victimAddress = placement.Values.GroupBy(a => a).OrderByDescending(g => g.Count()).First().Key;
        var victim = cluster.Silos.Single(s => victimAddress.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        var moved = placement.Where(p => p.Value == victimAddress).Select(p => p.Key).ToArray();
        Assert.True(hooks.At($"/{id}/l2").Count == 0, "level 2 came before the kill; the drill needs it pending");

        var killedAt = Stopwatch.GetTimestamp();
        victim.Kill();

        await cluster.WaitForDeadAsync(victim, TimeSpan.FromSeconds(60));
        var detected = Stopwatch.GetElapsedTime(killedAt);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync($"/api/alerts/{moved[0]}");
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, "a moved alert served again", TimeSpan.FromSeconds(60));
        var served = Stopwatch.GetElapsedTime(killedAt);

        // Every alert's escalation still reaches level 2, the moved ones included.
        var level2 = await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        var reached = Stopwatch.GetElapsedTime(killedAt);
        Assert.Equal(Servers, level2.Select(h => h.Body.GetProperty("alert").GetProperty("id").GetString()).Distinct().Count());
        output.WriteLine($"killed {victim.Name} holding {moved.Length} of {Servers} alerts; declared dead after {detected.TotalSeconds:F1}s; " +
            $"its alert served again after {served.TotalSeconds:F1}s; every level 2 delivered {reached.TotalSeconds:F1}s after the kill");

        // No alert lost, and each one's history complete: pending, firing, escalated.
        var listed = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?ruleId=r-{id}");
        Assert.Equal(Servers, listed.GetProperty("total").GetInt32());
        Assert.All(listed.GetProperty("items").EnumerateArray(), a => Assert.Equal("escalated", a.GetProperty("status").GetString()));
        var history = await http.GetFromJsonAsync<JsonElement>($"/api/alerts/history?ruleId=r-{id}&limit=1000");
        foreach (var alert in placement.Keys)
        {
            var steps = history.GetProperty("items").EnumerateArray().Where(h => h.GetProperty("alertId").GetString() == alert)
                .OrderBy(h => h.GetProperty("sequence").GetInt32()).Select(h => $"{h.GetProperty("from").GetString()}->{h.GetProperty("to").GetString()}").ToArray();
            Assert.Equal(["inactive->pending", "pending->firing", "firing->escalated"], steps);
        }
    }

    [Fact]
    public async Task After_a_full_restart_everything_and_the_pending_escalation_come_back()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 2);
        var id = Guid.NewGuid().ToString("N")[..6];
        await SetUpAsync(cluster.Http, hooks, id, level2Delay: "15s");
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));

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
        await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        Assert.Equal(Servers, hooks.At($"/{id}/l1").Count); // and level 1 was not sent again
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProductionClusterCollection
{
    public const string Name = "production-cluster";
}
