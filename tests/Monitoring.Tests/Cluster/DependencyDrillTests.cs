using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Support;
using static Monitoring.Tests.Support.Drill;

namespace Monitoring.Tests.Cluster;

/// <summary>
/// Drills of the dependencies' faults on real processes: 3 silos, the API, Redis, PostgreSQL and a webhook receiver,
/// and a storm of breaches from an at-least-once client. Every count comes from the receiver and the API.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class DependencyDrillTests(ITestOutputHelper output)
{
    /// <summary>
    /// PostgreSQL crashes (an immediate shutdown) a third of the way into a storm and comes back later. While it is
    /// down the API refuses with 503 what it cannot make durable and readiness says why; no silo dies of it. Once it is
    /// back, every accepted breach fires and is notified once, and healthy data resolves every alert: none is left stuck.
    /// DRILL_STORM=3000 DRILL_PG_OUTAGE=60 is the issue's figure; the suite runs a smaller, shorter one.
    /// </summary>
    [Fact]
    public async Task PostgreSQL_down_mid_storm_loses_nothing_leaves_nothing_stuck_and_no_silo_dies()
    {
        var storm = int.TryParse(Environment.GetEnvironmentVariable("DRILL_STORM"), out var size) && size > 0 ? size : 600;
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("DRILL_PG_OUTAGE"), out var seconds) && seconds > 0 ? seconds : 15);
        var patience = outage + TimeSpan.FromSeconds(120); // how long the client keeps sending again
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        await Created(http, "/api/channels", $$"""{"id":"pg-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}")}}","timeoutSeconds":60} }""");
        await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","severity":"critical","channels":["pg-{{id}}"],"escalateAfter":"off","selector":{"t":"{{id}}"} }""");
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await SendAsync(http, HttpMethod.Post, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""",
                HttpStatusCode.Created, HttpStatusCode.BadRequest));

        var clock = Stopwatch.StartNew();
        var accepted = 0;
        var resent = 0;
        var crashedAt = TimeSpan.Zero;
        var backAt = TimeSpan.Zero;
        Task? outageTask = null;
        var readiness = new List<string>();
        async Task OutageAsync()
        {
            crashedAt = clock.Elapsed;
            await cluster.Postgres.CrashAsync();
            // While it is down: readiness names the storage, and a write is refused with 503 and Retry-After, not lost.
            await Eventually.TrueAsync(async () =>
            {
                using var ready = await http.GetAsync("/health/ready");
                var body = await ready.Content.ReadAsStringAsync();
                if (ready.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("postgres", StringComparison.OrdinalIgnoreCase)) { readiness.Add(body); return true; }
                using var silo = await new HttpClient().GetAsync($"http://127.0.0.1:{cluster.Silos[0].HttpPort}/health/ready");
                var siloBody = await silo.Content.ReadAsStringAsync();
                if (silo.StatusCode == HttpStatusCode.ServiceUnavailable && siloBody.Contains("postgres", StringComparison.OrdinalIgnoreCase)) { readiness.Add(siloBody); return true; }
                return false;
            }, "readiness reports PostgreSQL down", TimeSpan.FromSeconds(30));
            var down = Stopwatch.StartNew();
            using (var refused = await http.PostAsync("/api/servers", new StringContent($$"""{"id":"late-{{id}}","name":"Late","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false} }""", System.Text.Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
            }
            await Task.Delay(outage - down.Elapsed > TimeSpan.Zero ? outage - down.Elapsed : TimeSpan.Zero); // the outage itself: the drill's duration, not a wait for a condition
            await cluster.Postgres.StartAgainAsync();
            backAt = clock.Elapsed;
        }
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            Interlocked.Add(ref resent, await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry",
                """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""", patience, HttpStatusCode.Accepted));
            if (Interlocked.Increment(ref accepted) == storm / 3) outageTask = OutageAsync();
        });
        await outageTask!;

        // Within a minute of PostgreSQL's return, every accepted breach has fired and been notified, once.
        await Eventually.TrueAsync(() => hooks.At($"/{id}").Select(AlertOf).Distinct().Count() == storm, "every breach notified", TimeSpan.FromSeconds(60));
        var notified = clock.Elapsed;
        var firing = hooks.At($"/{id}").Where(h => Kind(h) == "firing").ToList();
        var keys = firing.Select(h => h.Headers["Idempotency-Key"]).ToList();
        var duplicates = keys.Count - keys.Distinct().Count();
        Assert.Equal(storm, keys.Distinct().Count()); // one episode each
        Assert.True(duplicates * 1000 < storm, $"{duplicates} duplicates for {storm} alerts");
        Assert.Equal(0, Resolved(hooks, $"/{id}")); // nothing resolved without healthy data

        // No silo was declared dead for it: the membership is the three it started with, every one active.
        var silos = (await http.GetFromJsonAsync<JsonElement>("/api/cluster")).GetProperty("silos").EnumerateArray()
            .Select(s => (Port: int.Parse(s.GetProperty("address").GetString()!.Split(':')[1]), Status: s.GetProperty("status").GetString())).ToList();
        Assert.All(cluster.Silos, p => Assert.Contains(silos, s => s.Port == p.SiloPort && s.Status == "active"));
        Assert.All(cluster.Silos, p => Assert.False(p.Process.HasExited, $"{p.Name} exited: {p.Tail()}"));

        // Nothing stuck: healthy data resolves every alert.
        var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 40))}}]}""";
        await Parallel.ForEachAsync(Enumerable.Range(0, storm), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            Interlocked.Add(ref resent, await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", healthy, HttpStatusCode.Accepted)));
        try
        {
            await Eventually.TrueAsync(() => Resolved(hooks, $"/{id}") == storm, "every alert resolved", TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException e)
        {
            var told = hooks.At($"/{id}").Where(h => Kind(h) == "resolved").Select(AlertOf).ToHashSet();
            var left = Enumerable.Range(0, storm).Select(i => $"r-{id}:s{i}-{id}").Where(a => !told.Contains(a)).ToList();
            var first = left.Take(3).Select(async a => $"{a}: {await (await http.GetAsync($"/api/alerts/{a}")).Content.ReadAsStringAsync()} " +
                $"stored alert {await StoredAsync(cluster, "alert", a, "alert")} stored server {await StoredAsync(cluster, "mcpserver", a[(a.IndexOf(':') + 1)..], "server")}");
            throw new TimeoutException($"{e.Message}: {left.Count} stuck; {string.Join(" | ", await Task.WhenAll(first))}", e);
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>($"/api/alerts?status=firing&ruleId=r-{id}&limit=1")).GetProperty("total").GetInt32());
        output.WriteLine($"{storm} breaches; PostgreSQL crashed at {crashedAt.TotalSeconds:F1}s, back at {backAt.TotalSeconds:F1}s ({outage.TotalSeconds:F0}s outage); " +
            $"{resent} pushes sent again after a 503 or no answer; all {storm} notified at {notified.TotalSeconds:F1}s ({(notified - backAt).TotalSeconds:F1}s after its return); " +
            $"{duplicates} duplicates; 0 lost; 0 false resolved; 0 stuck; 0 silos dead; readiness said: {readiness.FirstOrDefault()?[..Math.Min(200, readiness.First().Length)]}");
    }

    /// <summary>
    /// Redis (membership and reminders) is killed and comes back later. The cluster keeps serving with the membership
    /// it has: breaches during the outage fire and are notified, escalations that come due during it arrive, no silo is
    /// declared dead because the membership cannot be written, and every silo is active once Redis is back. An incident
    /// opened during the outage could not register its reminder then; once Redis is back it does, so when its silo is
    /// killed after the outage, the reminder brings it back on another silo and its escalation still arrives, once.
    /// DRILL_REDIS_OUTAGE=60 is the issue's figure; the suite runs a shorter one.
    /// </summary>
    [Fact]
    public async Task Redis_down_keeps_the_cluster_serving_with_its_membership_and_declares_no_silo_dead()
    {
        const int servers = 40;
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("DRILL_REDIS_OUTAGE"), out var seconds) && seconds > 0 ? seconds : 20);
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        await Created(http, "/api/channels", $$"""{"id":"l1-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l1")}}"} }""");
        await Created(http, "/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"} }""");
        await Created(http, "/api/escalation-policies", $$"""{"id":"p-{{id}}","levels":[{"delay":"0s","channels":["l1-{{id}}"]},{"delay":"10s","channels":["l2-{{id}}"]}]}""");
        await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","severity":"critical","channels":[],"escalationPolicy":"p-{{id}}","selector":{"t":"{{id}}"} }""");
        for (var i = 0; i < servers; i++)
        {
            await Created(http, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
        }
        // An incident that opens during the outage, and escalates well after it: its reminder is what is drilled.
        var late = outage + TimeSpan.FromSeconds(30);
        await Created(http, "/api/channels", $$"""{"id":"inc-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/inc")}}"} }""");
        await Created(http, "/api/channels", $$"""{"id":"late-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/late")}}"} }""");
        await Created(http, "/api/escalation-policies", $$"""{"id":"pl-{{id}}","levels":[{"delay":"{{(int)late.TotalSeconds}}s","channels":["late-{{id}}"]}]}""");
        await SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["inc={{id}}"],"receiver":"inc","groupWait":"0s","groupInterval":"5s","repeatInterval":"4h"}]},
             "receivers":[{"name":"inc","channels":["inc-{{id}}"],"escalationPolicy":"pl-{{id}}"}]}
            """, HttpStatusCode.OK);
        await Created(http, "/api/rules", $$"""{"id":"ri-{{id}}","name":"Routed {{id}}","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"inc":"{{id}}"} }""");
        await Created(http, "/api/servers", $$"""{"id":"i-{{id}}","name":"I","endpoint":"http://127.0.0.1:9/mcp","labels":{"inc":"{{id}}"},"probe":{"enabled":false} }""");
        await Eventually.TrueAsync(async () => (await http.GetStringAsync("/api/routing")).Contains(id), "the routing tree in place", TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // every silo's routing copy has the new tree (refreshed each second)
        const string breach = """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""";
        // Half breach before the outage; their second level comes due during it.
        for (var i = 0; i < servers / 2; i++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", breach, HttpStatusCode.Accepted);
        await hooks.WaitForAsync($"/{id}/l1", servers / 2, TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        var crashed = DateTimeOffset.UtcNow;
        await cluster.Redis.CrashAsync();
        // During the outage: the other half breach, and are notified; the first half's escalations arrive.
        var resentDuring = 0;
        for (var i = servers / 2; i < servers; i++) resentDuring += await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", breach, HttpStatusCode.Accepted);
        var sentDuring = clock.Elapsed;
        var incidentBreachAt = clock.Elapsed;
        await SendAsync(http, HttpMethod.Post, $"/api/servers/i-{id}/telemetry", breach, HttpStatusCode.Accepted);
        await hooks.WaitForAsync($"/{id}/l1", servers, TimeSpan.FromSeconds(30));
        var notifiedDuring = clock.Elapsed;
        var incidentHook = (await hooks.WaitForAsync($"/{id}/inc", 1, TimeSpan.FromSeconds(30))).Single();
        var incident = incidentHook.Body.GetProperty("incident").GetProperty("id").GetString()!;
        var escalationDue = incidentBreachAt + late; // at the earliest: it opened after its breach was sent
        // Its channel's first message of this activation wants the channel's reminder: the table is down, and registering
        // must not hold the message (it held it for the client's whole timeout, 17 s, before).
        var incidentPaged = incidentHook.At - crashed;
        Assert.True(incidentPaged < incidentBreachAt + TimeSpan.FromSeconds(5), $"the incident opened during the outage paged {incidentPaged.TotalSeconds:F1}s into it");
        await hooks.WaitForAsync($"/{id}/l2", servers / 2, TimeSpan.FromSeconds(30));
        var escalatedDuring = clock.Elapsed;
        // Every wait above ends before Redis comes back: what arrived, arrived while it was down (the outage lasts at least its length).
        await Task.Delay(outage - clock.Elapsed > TimeSpan.Zero ? outage - clock.Elapsed : TimeSpan.Zero); // the outage itself: the drill's duration
        await cluster.Redis.StartAgainAsync();
        var back = clock.Elapsed;

        // Back: every silo still active, none declared dead, none exited; the rest of the escalations arrive.
        await cluster.WaitForActiveSilosAsync(TimeSpan.FromSeconds(60));
        var membership = (await http.GetFromJsonAsync<JsonElement>("/api/cluster")).GetProperty("silos").EnumerateArray()
            .Select(s => s.GetProperty("status").GetString()).ToList();
        Assert.DoesNotContain("dead", membership);
        Assert.All(cluster.Silos, p => Assert.False(p.Process.HasExited, $"{p.Name} exited: {p.Tail()}"));
        await hooks.WaitForAsync($"/{id}/l2", servers, TimeSpan.FromSeconds(60));
        Assert.Equal(servers, hooks.At($"/{id}/l1").Select(AlertOf).Distinct().Count());
        Assert.Equal(0, Resolved(hooks, $"/{id}/l1") + Resolved(hooks, $"/{id}/l2"));

        // The incident opened during the outage: a reminder period after Redis is back (its next tick registers the
        // reminder the outage refused), its silo is killed before its escalation is due. Only the reminder brings it back.
        await Eventually.TrueAsync(() => cluster.Redis.HoldsAsync(incident, "incident"), "the reminder of the incident opened during the outage registered in Redis", TimeSpan.FromSeconds(20));
        Assert.Empty(hooks.At($"/{id}/late"));
        var holder = await LocateAsync(http, "incident", incident);
        var victim = cluster.Silos.Single(s => holder!.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        var killedAt = clock.Elapsed;
        Assert.True(killedAt < escalationDue - TimeSpan.FromSeconds(5), $"killed at {killedAt.TotalSeconds:F1}s, too near the escalation due from {escalationDue.TotalSeconds:F1}s");
        victim.Kill();
        await hooks.WaitForAsync($"/{id}/late", 1, TimeSpan.FromSeconds(90));
        var escalatedAfterKill = clock.Elapsed;
        await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/late").Count > 1, "a second escalation", TimeSpan.FromSeconds(6));
        Assert.Single(hooks.At($"/{id}/inc"));

        // And the cluster is whole: a new server registers, and healthy data resolves every alert.
        await Created(http, "/api/servers", $$"""{"id":"after-{{id}}","name":"After","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false} }""");
        var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 40))}}]}""";
        for (var i = 0; i < servers; i++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", healthy, HttpStatusCode.Accepted);
        await Eventually.TrueAsync(() => Resolved(hooks, $"/{id}/l1") == servers, "every alert resolved", TimeSpan.FromSeconds(60));
        output.WriteLine($"Redis down {back.TotalSeconds:F1}s: {servers / 2} breaches sent during it by {sentDuring.TotalSeconds:F1}s ({resentDuring} sent again), notified by {notifiedDuring.TotalSeconds:F1}s, " +
            $"{servers / 2} escalations due during it arrived by {escalatedDuring.TotalSeconds:F1}s; after: 3 of 3 silos active, 0 dead; " +
            $"the incident opened during it paged at {incidentPaged.TotalSeconds:F1}s, lost its silo at {killedAt.TotalSeconds:F1}s and escalated once at {escalatedAfterKill.TotalSeconds:F1}s (due from {escalationDue.TotalSeconds:F1}s); " +
            $"{servers} resolved after healthy data");
    }

    /// <summary>
    /// A rollout as Kubernetes does it (SIGTERM, the manifests' 60 s grace, then a new process), under steady telemetry
    /// and with incidents open whose escalation comes due during the roll. The cluster starts on the previous release's
    /// silos (<see cref="PreviousRelease"/>) and each is replaced by one of this build, so for the whole roll silos of both
    /// versions share the cluster, its calls and its stored state; then one silo of this build is restarted too, so this
    /// build's own leaving is drilled under the same load. Nothing is lost or falsely resolved, no incident is paged
    /// twice, and each escalation arrives once.
    /// </summary>
    [Fact]
    public async Task A_rolling_upgrade_from_the_previous_release_then_a_restart_pages_each_incident_once_escalates_once_and_resolves_nothing()
    {
        var (name, silo) = await PreviousRelease.SiloAsync();
        output.WriteLine($"previous release: {name}");
        await RollAsync(from: silo);
    }

    /// <param name="from">The silo build the cluster starts on; the roll replaces each with this build, then restarts the first again.</param>
    private async Task RollAsync(string from)
    {
        const int servers = 60;
        const int groups = 6;
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(3, 200, null, from);
        var current = Repository.Dll("Silo");
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        await Created(http, "/api/channels", $$"""{"id":"ops-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/ops")}}"} }""");
        await Created(http, "/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"} }""");
        await Created(http, "/api/escalation-policies", $$"""{"id":"p-{{id}}","levels":[{"delay":"20s","channels":["l2-{{id}}"]}]}""");
        await SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
            {"route":{"groupBy":["group"],"routes":[{"matchers":["t={{id}}"],"receiver":"ops","groupWait":"10s","groupInterval":"5s","repeatInterval":"4h"}]},
             "receivers":[{"name":"ops","channels":["ops-{{id}}"],"escalationPolicy":"p-{{id}}"}]}
            """, HttpStatusCode.OK);
        // The group wait covers the load's first round (60 pushes one after another): each group's first message lists
        // all its servers, so a second "firing" message can only be a page sent twice, not an update with a late joiner.
        // (With 2 s, a loaded machine's first round outlasted it once and the update failed the count.)
        await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"t":"{{id}}"} }""");
        for (var i = 0; i < servers; i++)
        {
            await Created(http, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}","group":"g{{i % groups}}"},"probe":{"enabled":false} }""");
        }
        await Created(http, "/api/servers", $$"""{"id":"quiet-{{id}}","name":"Quiet","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false} }""");
        await Eventually.TrueAsync(async () => (await http.GetStringAsync("/api/routing")).Contains(id), "the routing tree in place", TimeSpan.FromSeconds(10));
        var rt = Stopwatch.StartNew();

        // Steady load for the whole roll: every breaching server keeps breaching, and a quiet one keeps sending healthy data.
        const string breach = """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""";
        using var stop = new CancellationTokenSource();
        var pushes = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < servers && !stop.IsCancellationRequested; i++)
                {
                    await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", breach, TimeSpan.FromSeconds(120), HttpStatusCode.Accepted);
                    await SendAsync(http, HttpMethod.Post, $"/api/servers/quiet-{id}/telemetry", """{"requests":[{"method":"tools/call","durationMs":20}]}""", TimeSpan.FromSeconds(120), HttpStatusCode.Accepted);
                    Interlocked.Add(ref pushes, 2);
                }
            }
        });
        await hooks.WaitForAsync($"/{id}/ops", groups, TimeSpan.FromSeconds(60));
        var opened = rt.Elapsed;

        // The roll: each silo in turn gets SIGTERM, is given its grace to leave, and a new process takes its place.
        var roll = Stopwatch.StartNew();
        for (var step = 0; step <= cluster.Silos.Count; step++)
        {
            var i = step % cluster.Silos.Count;
            var old = cluster.Silos[i];
            old.Terminate();
            await old.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            cluster.SiloDll = current;
            cluster.ReplaceSilo(i);
            await cluster.WaitForActiveSilosAsync(TimeSpan.FromSeconds(90));
        }
        var rolled = roll.Elapsed;
        await hooks.WaitForAsync($"/{id}/l2", groups, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await load;

        string IncidentOf(ReceivedHook h) => h.Body.GetProperty("incident").GetProperty("id").GetString()!;
        var pages = hooks.At($"/{id}/ops").Where(h => Kind(h) == "firing").GroupBy(IncidentOf).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(groups, pages.Count);
        Assert.All(pages, p => Assert.True(p.Value.Count == 1, $"incident {p.Key} paged {p.Value.Count} times"));
        Assert.All(pages, p => Assert.Equal(servers / groups, p.Value[0].Body.GetProperty("incident").GetProperty("firing").GetInt32()));
        var escalations = hooks.At($"/{id}/l2").GroupBy(IncidentOf).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(pages.Keys.Order(), escalations.Keys.Order());
        Assert.All(escalations, e => Assert.True(e.Value == 1, $"incident {e.Key} escalated {e.Value} times"));
        Assert.DoesNotContain(hooks.At($"/{id}/ops"), h => Kind(h) == "resolved");

        // Healthy data resolves every incident, once: enough of it to outweigh every failure the steady load sent.
        var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 500))}}]}""";
        var rounds = pushes / 2 / servers / 20 + 1; // 500 successes for each 25 failures keeps the error rate under 5 %
        for (var i = 0; i < servers; i++)
        {
            for (var r = 0; r < rounds; r++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", healthy, HttpStatusCode.Accepted);
        }
        await Eventually.TrueAsync(() => hooks.At($"/{id}/ops").Where(h => Kind(h) == "resolved").Select(IncidentOf).Distinct().Count() == groups,
            "every incident resolved", TimeSpan.FromSeconds(60));
        await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/ops").Count(h => Kind(h) == "resolved") > groups, "a second resolved message", TimeSpan.FromSeconds(3));
        output.WriteLine($"{groups} incidents of {servers} servers opened at {opened.TotalSeconds:F1}s; 3 silos upgraded in turn and one restarted in {rolled.TotalSeconds:F1}s " +
            $"under {pushes} pushes; each incident paged once, escalated once, resolved once; 0 false resolved");
    }

    /// <summary>
    /// A nightly backup, restored: <c>pg_dump</c> of a running cluster's schema with an incident open and its
    /// escalation pending, the cluster gone, the dump restored into a fresh PostgreSQL beside a fresh (empty) Redis, and
    /// a new cluster started on them. It holds every server, rule, channel (its secret still signs: the key ring is in
    /// the dump), silence and open incident of the moment of the dump, and the pending escalation arrives, once.
    /// </summary>
    [Fact]
    public async Task A_cluster_restored_from_pg_dump_holds_everything_and_sends_the_pending_escalation_once()
    {
        const int servers = 12;
        const string secret = "restore-signing-secret-1";
        await using var hooks = await WebhookReceiver.StartAsync();
        var id = Guid.NewGuid().ToString("N")[..6];
        string dump;
        string schema;
        string incident;
        var clock = Stopwatch.StartNew();
        await using (var before = await ProcessCluster.StartAsync(silos: 2))
        {
            var http = before.Http;
            await Created(http, "/api/channels", $$"""{"id":"ops-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/ops")}}","signingSecret":"{{secret}}"} }""");
            await Created(http, "/api/channels", $$"""{"id":"l2-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/l2")}}"} }""");
            await Created(http, "/api/escalation-policies", $$"""{"id":"p-{{id}}","levels":[{"delay":"45s","channels":["l2-{{id}}"]}]}""");
            await SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
                {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{id}}"],"receiver":"ops","groupWait":"3s","groupInterval":"5s","repeatInterval":"4h"}]},
                 "receivers":[{"name":"ops","channels":["ops-{{id}}"],"escalationPolicy":"p-{{id}}"}]}
                """, HttpStatusCode.OK);
            await Created(http, "/api/rules", $$"""{"id":"r-{{id}}","name":"Errors {{id}}","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"t":"{{id}}"} }""");
            for (var i = 0; i < servers; i++)
            {
                await Created(http, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""");
            }
            var now = DateTimeOffset.UtcNow;
            await SendAsync(http, HttpMethod.Post, "/api/silences", $$"""
                {"matchers":[{"name":"server_id","value":"s0-{{id}}","isRegex":false}],"startsAt":"{{now:O}}","endsAt":"{{now.AddHours(4):O}}","createdBy":"drill","comment":"kept by the backup"}
                """, HttpStatusCode.OK, HttpStatusCode.Created);
            await Eventually.TrueAsync(async () => (await http.GetStringAsync("/api/routing")).Contains(id), "the routing tree in place", TimeSpan.FromSeconds(10));
            for (var i = 0; i < servers; i++)
            {
                await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""", HttpStatusCode.Accepted);
            }
            // The group waits 3 s, long enough for the 12 pushes one after another on a busy 2-core machine (1 s was
            // not, once: the page went out with 3 of them).
            var page = (await hooks.WaitForAsync($"/{id}/ops", 1, TimeSpan.FromSeconds(30))).Single();
            incident = page.Body.GetProperty("incident").GetProperty("id").GetString()!;
            Assert.Equal(servers - 1, page.Body.GetProperty("incident").GetProperty("firing").GetInt32()); // one silenced
            await Eventually.TrueAsync(async () => (await http.GetStringAsync($"/api/incidents/{incident}")).Contains("\"nextEscalationAt\":\"", StringComparison.Ordinal),
                "the escalation pending", TimeSpan.FromSeconds(10));
            // The backup is of a settled moment: the incident's stored row holds the pending escalation (joins are stored behind).
            await Eventually.TrueAsync(async () => (await StoredAsync(before, "incident", incident, "incident")).Contains("\"NextPolicyStepAt\": \"", StringComparison.Ordinal),
                "the pending escalation stored", TimeSpan.FromSeconds(10));
            schema = before.Schema;
            dump = await before.Postgres.DumpAsync(schema);
            var copy = Path.Combine(Path.GetTempPath(), $"mcp-alerting-drill-{id}.sql");
            File.Copy(dump, copy);
            dump = copy;
            await before.KillAllAsync();
        }
        var dumped = clock.Elapsed;
        Assert.Empty(hooks.At($"/{id}/l2")); // the escalation was still pending when the cluster went

        // A fresh PostgreSQL with the dump restored (its schema renamed to the new cluster's), a fresh Redis, new processes.
        try
        {
            await using var after = await ProcessCluster.StartAsync(silos: 2, seed: async (connection, target) =>
            {
                await PostgresServer.RestoreAsync(new Npgsql.NpgsqlConnectionStringBuilder(connection).Port, dump);
                await using var database = Npgsql.NpgsqlDataSource.Create(connection);
                await using var rename = database.CreateCommand($"ALTER SCHEMA {schema} RENAME TO {target}");
                await rename.ExecuteNonQueryAsync();
            });
            var http = after.Http;
            // The pending escalation arrives, once, from the restored cluster, with nothing read first: a read would
            // activate the incident, and the drill is whether the cluster brings it back by itself (Redis came back empty).
            var escalation = (await hooks.WaitForAsync($"/{id}/l2", 1, TimeSpan.FromSeconds(90))).Single();
            Assert.Equal(incident, escalation.Body.GetProperty("incident").GetProperty("id").GetString());
            var escalated = clock.Elapsed;
            await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/l2").Count > 1, "a second escalation", TimeSpan.FromSeconds(3));
            Assert.Single(hooks.At($"/{id}/ops")); // and the page itself was not sent again

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/rules/r-{id}")).StatusCode);
            for (var i = 0; i < servers; i++) Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/servers/s{i}-{id}")).StatusCode);
            Assert.Contains("kept by the backup", await http.GetStringAsync("/api/silences"));
            var open = await http.GetFromJsonAsync<JsonElement>($"/api/incidents/{incident}");
            Assert.Equal("open", open.GetProperty("status").GetString());

            // The channel's secret was restored readable: a test message is signed with it.
            await SendAsync(http, HttpMethod.Post, $"/api/channels/ops-{id}/test", null, HttpStatusCode.OK);
            var test = (await hooks.WaitForAsync($"/{id}/ops", 2, TimeSpan.FromSeconds(30)))[1];
            var timestamp = long.Parse(test.Headers["X-Mcp-Alerting-Timestamp"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Monitoring.Channels.Webhook.WebhookSender.Sign(secret, timestamp, System.Text.Encoding.UTF8.GetBytes(test.RawBody)), test.Headers["X-Mcp-Alerting-Signature"]);

            // The restored fleet is watched: healthy data resolves the incident.
            var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":50}""", 40))}}]}""";
            for (var i = 0; i < servers; i++) await SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", healthy, HttpStatusCode.Accepted);
            await Eventually.TrueAsync(() => hooks.At($"/{id}/ops").Any(h => Kind(h) == "resolved"), "the incident resolved", TimeSpan.FromSeconds(60));
            output.WriteLine($"dumped at {dumped.TotalSeconds:F1}s ({new FileInfo(dump).Length / 1024} KiB); restored cluster: {servers} servers, the rule, " +
                $"the silence, the open incident; its pending escalation arrived once at {escalated.TotalSeconds:F1}s; the channel's secret still signs");
        }
        finally
        {
            File.Delete(dump);
        }
    }
}
