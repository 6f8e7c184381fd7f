using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

/// <summary>
/// A fleet-wide breach through the routing tree: N servers breach one rule that names no channels, the root route
/// groups by alert name. Prints how many messages the receiver got, when the grouped one arrived after the first
/// breach, how many alerts it listed, and the incident's size.
///   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --incident-storm [--servers 10000] [--group-wait 30s]
/// </summary>
public static class IncidentStorm
{
    public static async Task RunAsync(string[] args)
    {
        var servers = args.SkipWhile(a => a != "--servers").Skip(1).Select(int.Parse).DefaultIfEmpty(2000).First();
        var groupWait = args.SkipWhile(a => a != "--group-wait").Skip(1).DefaultIfEmpty("30s").First();
        const string apiUrl = "http://127.0.0.1:5392";

        var received = new ConcurrentQueue<(long At, string Kind, int Firing, int Listed)>();
        var (receiver, hookBase) = await BenchHost.StartReceiverAsync((_, raw, now) =>
        {
            using var body = JsonDocument.Parse(raw);
            var kind = body.RootElement.GetProperty("context").GetProperty("notification").GetString()!;
            var incident = body.RootElement.TryGetProperty("incident", out var i) ? i : default;
            received.Enqueue((now, kind, incident.ValueKind == JsonValueKind.Object ? incident.GetProperty("firing").GetInt32() : 1,
                incident.ValueKind == JsonValueKind.Object ? incident.GetProperty("alerts").GetArrayLength() : 1));
        });
        var hookUrl = hookBase + "/hook";

        var api = BenchHost.StartApi(apiUrl, 21112, 40112);
        using var http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await BenchHost.WaitForHealthAsync(http);
            Console.WriteLine($"{Environment.ProcessorCount} cores; API up (pid {api.Id}); {servers} servers breach one routed rule, group_wait {groupWait}");
            await Post(http, HttpMethod.Post, "/api/channels", new { id = "bench", type = "webhook", config = new { url = hookUrl } });
            await Post(http, HttpMethod.Put, "/api/routing", new
            {
                route = new { receiver = "bench", groupBy = new[] { "alertname" }, groupWait },
                receivers = new[] { new { name = "bench", channels = new[] { "bench" }, maxAlerts = 100 } },
            });
            await Post(http, HttpMethod.Post, "/api/rules", new
            {
                id = "storm", name = "Shared dependency down", condition = "error_rate > 0.05", severity = "critical",
                channels = Array.Empty<string>(), selector = new Dictionary<string, string> { ["storm"] = "1" },
            });
            // The fleet in bulk: 1,000 servers a request (POST /api/servers/bulk), two requests in flight.
            var registering = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, servers).Chunk(1000), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (chunk, _) =>
                await Post(http, HttpMethod.Post, "/api/servers/bulk", new
                {
                    servers = chunk.Select(i => new
                    {
                        id = $"storm-{i}", name = $"Server {i}", endpoint = $"http://127.0.0.1:1/{i}",
                        labels = new Dictionary<string, string> { ["storm"] = "1" }, probe = new { enabled = false },
                    }),
                }));
            Console.WriteLine($"registered {servers} servers in {registering.Elapsed.TotalSeconds:F1} s ({servers / registering.Elapsed.TotalSeconds:N0}/s, bulk, 1,000 a request)");
            var rssBefore = BenchHost.RssBytes(BenchHost.ApiPid(api));

            var breach = BenchHost.Breach(20);
            var first = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, servers), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
                (await http.PostAsync($"/api/servers/storm-{i}/telemetry", breach())).EnsureSuccessStatusCode());
            var pushed = Stopwatch.GetElapsedTime(first);
            Console.WriteLine($"pushed {servers} breaches in {pushed.TotalSeconds:F1} s ({servers / pushed.TotalSeconds:N0}/s)");

            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (received.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(20);
            // Wait a little past the next group interval's worth of quiet to see whether anything else arrives.
            await Task.Delay(TimeSpan.FromSeconds(10));
            var rssAfter = BenchHost.RssBytes(BenchHost.ApiPid(api));
            var messages = received.ToArray();
            var incidentId = (await http.GetFromJsonAsync<JsonElement>("/api/alerts/storm:storm-0")).GetProperty("incidents")[0].GetString();
            var incident = await http.GetStringAsync($"/api/incidents/{incidentId}");
            using var parsed = JsonDocument.Parse(incident);
            Console.WriteLine($"messages received: {messages.Length} ({string.Join(", ", messages.GroupBy(m => m.Kind).Select(g => $"{g.Count()} {g.Key}"))}) for {servers} breaching servers");
            if (messages.Length > 0)
            {
                var m = messages[0];
                Console.WriteLine($"first breach -> grouped message: {Stopwatch.GetElapsedTime(first, m.At).TotalSeconds:F1} s (group_wait {groupWait}); it counted {m.Firing} firing and listed {m.Listed} (maxAlerts 100)");
            }
            Console.WriteLine($"incident now: {parsed.RootElement.GetProperty("firing").GetInt32()} firing; its view is {incident.Length / 1024.0:N0} KiB of JSON");
            Console.WriteLine($"API RSS growth across the storm: {(rssAfter - rssBefore) / 1024.0 / 1024.0:N0} MiB ({(rssAfter - rssBefore) / (double)servers:N0} bytes per breaching server, alerts and incident together)");

            // The console's fleet page with the whole fleet registered: the first page, a filtered and sorted page, a late page.
            foreach (var page in new[] { "/", "/?health=unhealthy&sort=error_rate&order=desc", $"/?label=storm%3D1&offset={Math.Max(0, servers - 50)}", "/?q=storm-99" })
            {
                var times = new List<double>();
                for (var i = 0; i < 11; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    (await http.GetAsync(page)).EnsureSuccessStatusCode();
                    times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                times.Sort();
                Console.WriteLine($"console GET {page}: median {times[times.Count / 2]:F1} ms, max {times[^1]:F1} ms over {times.Count} ({servers} servers)");
            }
        }
        finally
        {
            api.Kill(entireProcessTree: true);
            await receiver.StopAsync();
        }
    }

    private static async Task Post(HttpClient http, HttpMethod method, string url, object body)
    {
        using var request = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body) };
        var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
