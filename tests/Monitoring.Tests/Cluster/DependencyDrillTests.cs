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
}
