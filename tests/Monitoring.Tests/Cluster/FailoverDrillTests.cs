using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;
using static Monitoring.Tests.Support.Drill;

namespace Monitoring.Tests.Cluster;

/// <summary>
/// Failover drills on real processes: a silo killed with kill -9, and the whole cluster stopped and started, while
/// servers breach. What the product says must stay true: no "resolved" without healthy data, escalations still due
/// arrive, no breach that was accepted is lost, no alert is left stuck, and duplicates stay rare.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class FailoverDrillTests(ITestOutputHelper output)
{
    private const int Servers = 12;

    [Fact]
    public async Task A_killed_silo_resolves_nothing_that_did_not_recover_and_its_escalations_still_arrive()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var id = await BreachAsync(cluster.Http, hooks);

        // Kill the silo that holds the most breaching servers.
        var placement = new Dictionary<string, string?>();
        for (var i = 0; i < Servers; i++) placement[$"s{i}-{id}"] = await LocateAsync(cluster.Http, "server", $"s{i}-{id}");
        var victimAddress = placement.Values.Where(v => v is not null).GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key!;
        var victim = cluster.Silos.Single(s => victimAddress.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        var moved = placement.Where(p => p.Value == victimAddress).Select(p => p.Key).ToArray();
        victim.Kill();
        await cluster.WaitForDeadAsync(victim, TimeSpan.FromSeconds(60));

        // Their grains come back elsewhere, with the window they had or none: either way an evaluation must not resolve.
        await EvaluateEveryServerAsync(cluster.Http, id);
        await AssertNothingResolvedAsync(cluster.Http, hooks, id);

        // The escalation due 15 s after firing arrives for every alert, those of the dead silo's servers too.
        await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        Assert.Equal(Servers, hooks.At($"/{id}/l2").Select(AlertOf).Distinct().Count());
        await AssertNothingResolvedAsync(cluster.Http, hooks, id);

        // Healthy data, and only healthy data, resolves them: every alert, to both levels.
        await RecoverAsync(cluster.Http, id);
        await Eventually.TrueAsync(() => Resolved(hooks, $"/{id}/l1") == Servers && Resolved(hooks, $"/{id}/l2") == Servers,
            "every alert resolved to both levels", TimeSpan.FromSeconds(60));
        output.WriteLine($"killed {victim.Name} holding {moved.Length} of {Servers} breaching servers: 0 false resolved, {Servers} escalations, {Servers} resolved after healthy data");
    }

    [Fact]
    public async Task A_full_stop_and_start_resolves_nothing_that_did_not_recover_and_keeps_the_escalation()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 2);
        var id = await BreachAsync(cluster.Http, hooks);

        await cluster.KillAllAsync();
        await cluster.StartProcessesAsync(2);

        await EvaluateEveryServerAsync(cluster.Http, id);
        await AssertNothingResolvedAsync(cluster.Http, hooks, id);
        await hooks.WaitForAsync($"/{id}/l2", Servers, TimeSpan.FromSeconds(90));
        await AssertNothingResolvedAsync(cluster.Http, hooks, id);

        await RecoverAsync(cluster.Http, id);
        await Eventually.TrueAsync(() => Resolved(hooks, $"/{id}/l1") == Servers, "every alert resolved", TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// 2,000 servers breach while a silo is killed (not the one holding the channel, whose in-flight sends are the one
    /// duplicate at-least-once delivery cannot avoid). The pusher is an at-least-once client: it sends a push again
    /// when the answer is a 503 or no answer. Every accepted breach is notified, no alert is left firing once healthy
    /// data arrives, and fewer than 1 in 1,000 notifications is a duplicate.
    /// </summary>
    [Fact]
    public async Task A_silo_killed_mid_storm_loses_nothing_leaves_nothing_stuck_and_duplicates_under_one_in_a_thousand()
    {
        // DRILL_STORM=10000 runs the same drill at fleet scale, for the figures in docs/production.md.
        // DRILL_PG_MAX_CONNECTIONS=100 runs it against PostgreSQL's default connection limit.
        var storm = int.TryParse(Environment.GetEnvironmentVariable("DRILL_STORM"), out var size) && size > 0 ? size : 2000;
        var connections = int.TryParse(Environment.GetEnvironmentVariable("DRILL_PG_MAX_CONNECTIONS"), out var limit) && limit > 0 ? limit : 200;
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3, connections, seed: null);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        // The receiver shares two cores with three silos, the API, PostgreSQL and other tests: a send it answers after the
        // webhook's default 10 s would be sent again, and that duplicate is a slow receiver's, not the failover's.
        await Created(http, "/api/channels", $$"""{"id":"storm-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}")}}","timeoutSeconds":60} }""");
        await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","severity":"critical","channels":["storm-{{id}}"],"escalateAfter":"off","selector":{"t":"{{id}}"} }""");
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            await SendAsync(http, HttpMethod.Post, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""",
                HttpStatusCode.Created, HttpStatusCode.BadRequest));
        var registered = clock.Elapsed;
        var channelSilo = await LocateAsync(http, "channel", $"storm-{id}");
        var victim = cluster.Silos.First(s => channelSilo is null || !channelSilo.Contains($":{s.SiloPort}:", StringComparison.Ordinal));

        var accepted = 0;
        var retried = 0;
        var killedAt = TimeSpan.Zero;
        clock.Restart();
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            retried += await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry",
                """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""", HttpStatusCode.Accepted);
            if (Interlocked.Increment(ref accepted) == storm / 3)
            {
                killedAt = clock.Elapsed;
                victim.Kill();
            }
        });
        var pushed = clock.Elapsed;

        // Nothing lost: every alert notified.
        try
        {
            await Eventually.TrueAsync(() => hooks.At($"/{id}").Select(AlertOf).Distinct().Count() == storm, "every breach notified", TimeSpan.FromSeconds(240));
        }
        catch (TimeoutException e)
        {
            // Say which were not notified and what the cluster holds of them: the alert, its stored row, its channel's log.
            var told = hooks.At($"/{id}").Select(AlertOf).ToHashSet();
            var left = Enumerable.Range(0, storm).Select(i => $"r-{id}:s{i}-{id}").Where(a => !told.Contains(a)).ToList();
            var states = await Task.WhenAll(left.Take(3).Select(async a => $"{a}: {await (await http.GetAsync($"/api/alerts/{a}")).Content.ReadAsStringAsync()} " +
                $"stored {await StoredAsync(cluster, "alert", a, "alert")}"));
            throw new TimeoutException($"{e.Message}: {left.Count} of {storm} not notified; {victim.Name} killed at {killedAt.TotalSeconds:F1}s; " +
                $"{string.Join(" | ", states.Select(x => x.Length > 3000 ? x[..3000] : x))}; {cluster.Diagnostics()}", e);
        }
        var notified = clock.Elapsed;
        var firing = hooks.At($"/{id}").Where(h => Kind(h) == "firing").ToList();
        var keys = firing.Select(h => h.Headers["Idempotency-Key"]).ToList();
        var duplicates = keys.Count - keys.Distinct().Count();
        // One episode each: a second key for an alert would be a false resolve and a refire.
        Assert.Equal(storm, keys.Distinct().Count());
        // On failure, say when each duplicate arrived after its first copy, and what the channel's delivery log says of
        // it (attempts: a retry after a slow answer, or a second send by another activation).
        var repeated = firing.GroupBy(h => h.Headers["Idempotency-Key"]).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} again after {(g.Last().At - g.First().At).TotalSeconds:F1}s (killed at {killedAt.TotalSeconds:F1}s)").ToList();
        var log = repeated.Count == 0 ? "" : await http.GetStringAsync($"/api/channels/storm-{id}/deliveries?limit=200");
        Assert.True(duplicates * 1000 < storm, $"{duplicates} duplicate notifications for {storm} alerts: {string.Join("; ", repeated)}; " +
            string.Join(" ", repeated.Select(r => r[..r.IndexOf(' ')]).Select(key => log.IndexOf(key, StringComparison.Ordinal) is var at and >= 0
                ? log[Math.Max(0, at - 20)..Math.Min(log.Length, at + 400)] : $"{key}: not in the last 200 deliveries")));

        // Nothing stuck: healthy data resolves every one of them.
        clock.Restart();
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            retried += await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry",
                $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 40))}}]}""", HttpStatusCode.Accepted));
        try
        {
            await Eventually.TrueAsync(() => Resolved(hooks, $"/{id}") == storm, "every alert resolved", TimeSpan.FromSeconds(240));
        }
        catch (TimeoutException e)
        {
            // Say which were left and what the cluster says of them: still firing, or resolved with the message not yet sent.
            var told = hooks.At($"/{id}").Where(h => Kind(h) == "resolved").Select(AlertOf).ToHashSet();
            var left = Enumerable.Range(0, storm).Select(i => $"r-{id}:s{i}-{id}").Where(a => !told.Contains(a)).Take(5).ToList();
            var states = new List<string>();
            foreach (var alert in left)
            {
                var server = alert[(alert.IndexOf(':') + 1)..];
                states.Add($"{alert}: {await (await http.GetAsync($"/api/alerts/{alert}")).Content.ReadAsStringAsync()} " +
                    $"history {await (await http.GetAsync($"/api/alerts/history?serverId={server}&ruleId=r-{id}")).Content.ReadAsStringAsync()} " +
                    $"server {await (await http.GetAsync($"/api/servers/{server}")).Content.ReadAsStringAsync()} " +
                    $"stored server {await StoredAsync(cluster, "mcpserver", server, "server")} window {await StoredAsync(cluster, "mcpserver", server, "window")}");
            }
            var firingNow = (await http.GetFromJsonAsync<JsonElement>($"/api/alerts?status=firing&ruleId=r-{id}&limit=1")).GetProperty("total").GetInt32();
            throw new TimeoutException($"{e.Message}: {told.Count} of {storm} resolved messages, {firingNow} alerts listed firing; " +
                $"{victim.Name} killed at {killedAt.TotalSeconds:F1}s; the first left: {string.Join(" | ", states.Select(x => x.Length > 4000 ? x[..4000] : x))}", e);
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>($"/api/alerts?status=firing&ruleId=r-{id}&limit=1")).GetProperty("total").GetInt32());
        output.WriteLine($"{storm} servers registered in {registered.TotalSeconds:F1}s; storm pushed in {pushed.TotalSeconds:F1}s ({storm / pushed.TotalSeconds:F0}/s), " +
            $"{victim.Name} killed at {killedAt.TotalSeconds:F1}s, {retried} pushes sent again after a 503 or no answer; all {storm} notified at {notified.TotalSeconds:F1}s; " +
            $"{duplicates} duplicates ({duplicates * 100.0 / storm:F2}%); 0 lost; 0 stuck (all {storm} resolved after healthy data)");
    }

    /// <summary>Channels l1 and l2, a policy telling l1 at once and l2 15 s later, a rule, and servers that breach it.</summary>
    private static async Task<string> BreachAsync(HttpClient http, WebhookReceiver hooks)
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        await Created(http, "/api/channels", $$"""{"id":"l1-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l1")}}"} }""");
        await Created(http, "/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"} }""");
        await Created(http, "/api/escalation-policies", $$"""{"id":"p-{{id}}","levels":[{"delay":"0s","channels":["l1-{{id}}"]},{"delay":"15s","channels":["l2-{{id}}"]}]}""");
        await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"High error rate","condition":"error_rate > 0.05","severity":"critical","channels":[],"escalationPolicy":"p-{{id}}","selector":{"t":"{{id}}"} }""");
        for (var i = 0; i < Servers; i++)
        {
            await Created(http, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
        }
        for (var i = 0; i < Servers; i++)
        {
            await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""", HttpStatusCode.Accepted);
        }
        await hooks.WaitForAsync($"/{id}/l1", Servers, TimeSpan.FromSeconds(30));
        Assert.Empty(hooks.At($"/{id}/l2")); // the drill needs level 2 pending
        return id;
    }

    /// <summary>Each server evaluates now (a check round), wherever it lives after the failure.</summary>
    private static async Task EvaluateEveryServerAsync(HttpClient http, string id)
    {
        for (var i = 0; i < Servers; i++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/check", null, HttpStatusCode.OK);
    }

    private static async Task AssertNothingResolvedAsync(HttpClient http, WebhookReceiver hooks, string id)
    {
        // The listing is written behind each alert's step (batched in production): it may lag the check's answer a moment.
        var alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?ruleId=r-{id}&limit=100");
        for (var until = DateTime.UtcNow + TimeSpan.FromSeconds(15); alerts.GetProperty("total").GetInt32() != Servers && DateTime.UtcNow < until; )
        {
            await Task.Delay(200);
            alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?ruleId=r-{id}&limit=100");
        }
        Assert.All(alerts.GetProperty("items").EnumerateArray(), a => Assert.Contains(a.GetProperty("status").GetString(), new[] { "firing", "escalated" }));
        if (alerts.GetProperty("total").GetInt32() != Servers)
        {
            // Say what the cluster holds: the listing with inactive entries, one alert and its server.
            Assert.Fail($"{alerts.GetProperty("total").GetInt32()} of {Servers} alerts listed open; inactive listed: " +
                $"{await http.GetStringAsync($"/api/alerts?ruleId=r-{id}&status=inactive&limit=100")}; alert: " +
                $"{await (await http.GetAsync($"/api/alerts/r-{id}:s0-{id}")).Content.ReadAsStringAsync()}; server: " +
                $"{await (await http.GetAsync($"/api/servers/s0-{id}")).Content.ReadAsStringAsync()}");
        }
        await Eventually.StaysFalseAsync(() => Resolved(hooks, $"/{id}/l1") + Resolved(hooks, $"/{id}/l2") > 0, "no resolved message without healthy data", TimeSpan.FromSeconds(2));
    }

    private static async Task RecoverAsync(HttpClient http, string id)
    {
        var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 40))}}]}""";
        for (var i = 0; i < Servers; i++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", healthy, HttpStatusCode.Accepted);
    }

}

/// <summary>Overload: a storm larger than PostgreSQL's connection pools can take is shed with 503s, not a collapse.</summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class OverloadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_storm_larger_than_the_pools_is_shed_with_503s_every_accepted_breach_alerts_and_the_cluster_recovers()
    {
        const int storm = 600;
        await using var hooks = await WebhookReceiver.StartAsync();
        // As the field saw it: the processes' pools (2 silos x 16 + 8) are larger than PostgreSQL lets in (max_connections
        // 20, 17 for clients), so under a storm PostgreSQL refuses connections ("53300: too many clients").
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, postgresMaxConnections: 20, seed: null);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/channels", $$"""{"id":"o-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}")}}"} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/rules",
            $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","channels":["o-{{id}}"],"escalateAfter":"off","selector":{"t":"{{id}}"} }""")).StatusCode);
        var registered = new ConcurrentBag<int>();
        // Registering is not what this drill measures: each server is sent again after a 503 until five minutes have
        // passed (a quiet machine registers the 600 in a few seconds; a loaded CI machine once took more than three minutes).
        var registering = Stopwatch.StartNew();
        var registerBy = DateTime.UtcNow.AddMinutes(5);
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            while (DateTime.UtcNow < registerBy)
            {
                var response = await http.PostJsonAsync("/api/servers",
                    $$"""{"id":"s{{i}}-{{id}}","name":"S","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
                if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.BadRequest) { registered.Add(i); return; }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                await Task.Delay(100);
            }
        });
        Assert.True(storm == registered.Count, $"{registered.Count} of {storm} servers registered in {registering.Elapsed.TotalSeconds:F0} s");
        output.WriteLine($"{storm} servers registered in {registering.Elapsed.TotalSeconds:F1} s");

        // The storm: 128 pushes in flight, each sent once. Every answer is 202 or 503, never a 500.
        var statuses = new ConcurrentDictionary<int, HttpStatusCode>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 128 }, async (i, _) =>
        {
            try
            {
                var response = await http.PostJsonAsync($"/api/servers/s{i}-{id}/telemetry", """{"requests":[{"method":"tools/call","durationMs":5,"success":false}]}""");
                statuses[i] = response.StatusCode;
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable) Assert.NotNull(response.Headers.RetryAfter);
            }
            catch (TaskCanceledException)
            {
                statuses[i] = HttpStatusCode.RequestTimeout; // no answer within the client's 10 s: not accepted
            }
        });
        var stormTook = clock.Elapsed;
        Assert.All(statuses.Values, s => Assert.Contains(s, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable, HttpStatusCode.RequestTimeout }));
        var accepted = statuses.Where(s => s.Value == HttpStatusCode.Accepted).Select(s => $"r-{id}:s{s.Key}-{id}").ToHashSet();
        Assert.NotEmpty(accepted);

        // Every accepted breach reaches its alert and is notified.
        await Eventually.TrueAsync(() => accepted.IsSubsetOf(hooks.At($"/{id}").Select(h => h.Body.GetProperty("alert").GetProperty("id").GetString()!)),
            "every accepted breach notified", TimeSpan.FromSeconds(120));

        // Within a minute of the load stopping the cluster serves normally: ready, and a fresh breach alerts at once.
        clock.Restart();
        var last = "";
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                var ready = await http.GetAsync("/health/ready");
                var push = await http.PostJsonAsync($"/api/servers/s0-{id}/telemetry", """{"requests":[{"method":"tools/call","durationMs":5,"success":false}]}""");
                last = $"ready {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}; push {(int)push.StatusCode} {await push.Content.ReadAsStringAsync()}";
                return ready.IsSuccessStatusCode && push.StatusCode == HttpStatusCode.Accepted;
            }, "the cluster serving normally again", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last answers: {last}", e);
        }
        var recovered = clock.Elapsed;
        output.WriteLine($"{storm} pushes, 128 in flight, pools larger than PostgreSQL's 20 connections: {accepted.Count} accepted, " +
            $"{statuses.Values.Count(s => s == HttpStatusCode.ServiceUnavailable)} answered 503 with Retry-After, " +
            $"{statuses.Values.Count(s => s == HttpStatusCode.RequestTimeout)} unanswered in 10 s; storm {stormTook.TotalSeconds:F1}s; " +
            $"every accepted breach notified; serving normally {recovered.TotalSeconds:F1}s after the load stopped");
    }
}
