using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Servers.History;

/// <summary>
/// Service-level objectives at fleet size. First, what a server's 30 days of history cost (stored and in memory), for a
/// steadily used server built a minute at a time. Then the embedded product with N servers, each given 30 days of
/// hourly telemetry (one request record an hour, through <c>POST /api/telemetry</c>): the CPU and time one evaluation
/// of an objective selecting all of them takes, and the summary endpoint's p50 and p99 over 30 days.
/// </summary>
public static class SloEvaluation
{
    public static async Task RunAsync(string[] args)
    {
        var servers = args.SkipWhile(a => a != "--servers").Skip(1).Select(int.Parse).DefaultIfEmpty(10_000).First();
        Console.WriteLine($"{Environment.ProcessorCount} cores");
        HistoryCost();

        const string apiUrl = "http://127.0.0.1:5397";
        var api = BenchHost.StartApi(apiUrl, 21117, 40117);
        using var http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            await BenchHost.WaitForHealthAsync(http);
            var pid = BenchHost.ApiPid(api);
            foreach (var chunk in Enumerable.Range(0, servers).Chunk(1000))
            {
                await BenchHost.PostAsync(http, "/api/servers/bulk", new
                {
                    servers = chunk.Select(i => new
                    {
                        id = $"s-{i}", name = $"S {i}", endpoint = $"http://127.0.0.1:1/{i}",
                        labels = new Dictionary<string, string> { ["fleet"] = "1" }, probe = new { enabled = false },
                    }),
                });
            }
            var now = DateTimeOffset.UtcNow;
            var fill = Stopwatch.StartNew();
            var cpuBefore = BenchHost.CpuSeconds(pid);
            await Parallel.ForEachAsync(Enumerable.Range(0, servers).Chunk(20), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (chunk, _) =>
                await BenchHost.PostAsync(http, "/api/telemetry", new
                {
                    servers = chunk.Select(i => new
                    {
                        serverId = $"s-{i}",
                        telemetry = new
                        {
                            requests = Enumerable.Range(0, 30 * 24).Select(h => new
                            {
                                method = "tools/call", tool = "search", durationMs = 20 + (h * 37 + i) % 400, success = (h + i) % 97 != 0,
                                timestamp = now.AddHours(-30 * 24 + h + 1).AddMinutes(-1),
                            }),
                        },
                    }),
                }));
            Console.WriteLine($"filled: {servers:N0} servers × 720 hourly records in {fill.Elapsed.TotalSeconds:F1} s ({BenchHost.CpuSeconds(pid) - cpuBefore:F1} s CPU)");

            await BenchHost.PostAsync(http, "/api/slos", new { id = "fleet", name = "Fleet availability", selector = new Dictionary<string, string> { ["fleet"] = "1" }, objective = 99.5 });
            await BenchHost.PostAsync(http, "/api/slos", new { id = "fleet-set", name = "Fleet as one set", selector = new Dictionary<string, string> { ["fleet"] = "1" }, objective = 99.5, aggregate = true });
            foreach (var id in new[] { "fleet", "fleet", "fleet", "fleet-set" })
            {
                var cpu = BenchHost.CpuSeconds(pid);
                var clock = Stopwatch.StartNew();
                var view = await (await http.PostAsync($"/api/slos/{id}/evaluate", null)).Content.ReadFromJsonAsync<JsonElement>();
                var rows = view.GetProperty("rows");
                Console.WriteLine($"evaluate '{id}' once: {servers:N0} servers, {rows.GetArrayLength():N0} rows, {clock.Elapsed.TotalSeconds:F2} s, {BenchHost.CpuSeconds(pid) - cpu:F2} s CPU of the process (the minute's own rounds included); events in the first row {rows[0].GetProperty("events").GetInt64():N0}");
            }

            var random = new Random(7);
            for (var i = 0; i < 100; i++) (await http.GetAsync($"/api/servers/s-{random.Next(servers)}/summary?window=30d")).Dispose();
            var times = new List<double>();
            for (var i = 0; i < 2000; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.GetAsync($"/api/servers/s-{random.Next(servers)}/summary?window=30d");
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"summary: {(int)response.StatusCode}");
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            Console.WriteLine($"summary (30d, a random server of {servers:N0}): 2000 asks, p50 {times[1000]:F1} ms, p99 {times[1980]:F1} ms, max {times[^1]:F1} ms");
        }
        finally
        {
            api.Kill(entireProcessTree: true);
        }
    }

    /// <summary>30 days of a steadily used server (about 2 requests a second with a daily swing, 1% errors, five latency buckets, a probe every 30 s).</summary>
    private static void HistoryCost()
    {
        var now = new DateTimeOffset(2026, 3, 31, 12, 30, 0, TimeSpan.Zero);
        var h = new ServerHistory();
        var random = new Random(7);
        for (var at = now.AddDays(-30).AddMinutes(1); at <= now; at = at.AddMinutes(1))
        {
            var load = 120 + (int)(60 * Math.Sin(at.TimeOfDay.TotalHours / 24 * 2 * Math.PI)) + random.Next(20);
            var errors = random.Next(3);
            long[] counts = [load / 5, load / 3, load / 4, load / 10, load / 20];
            var total = counts.Sum();
            h.RecordMany(at, now, total - errors, true, total * 0.08, [0.025, 0.05, 0.1, 0.25, 0.5], [.. counts.Select((c, i) => i == 1 ? c - errors : c), 0], 0.9, "search");
            h.RecordMany(at, now, errors, false, errors * 0.05, [0.05], [errors, 0], 0.05, "search");
            h.RecordProbe(at, now, ok: true);
            h.RecordProbe(at.AddSeconds(30), now, ok: true);
        }
        var stored = h.Export(now);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 200; i++) h.Export(now);
        var export = clock.Elapsed.TotalMilliseconds / 200;
        var query = Monitoring.Slo.SloMath.Query(new Monitoring.Slo.SloDefinition("x", "x", [], null, Monitoring.Slo.SloIndicator.Availability, null, 99.5,
            TimeSpan.FromDays(30), false, [], [14.4, 6], [3, 1], 10, now));
        clock.Restart();
        for (var i = 0; i < 2000; i++) h.Answer(query, now);
        Console.WriteLine($"one server, 30 days at ~2 requests/s: {stored.Length:N0} bytes stored, {h.Bytes:N0} bytes of rows in memory; a write-behind export {export:F2} ms; an objective's 8 windows read in {clock.Elapsed.TotalMilliseconds / 2000 * 1000:F0} µs");
    }
}
