// Breach-to-webhook latency on the embedded run, and the memory one monitored server costs.
//   dotnet run -c Release --project tests/Monitoring.Benchmarks [-- --alerts 1000]
// A fleet-wide breach through the routing tree (one incident, one message):
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --incident-storm [--servers 2000] [--group-wait 30s]
// Alertmanager API v2 storms, side by side with Debian's Alertmanager 0.25 in the same run:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --am-storm [--alerts 10000,50000] [--batch 500] [--floor]
// Steady-state telemetry into one silo (JSON records and OTLP protobuf), with the CPU it used:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --telemetry [--servers 1000] [--seconds 15]
// The production shape (silos on PostgreSQL, Redis, the API as a client): bulk registration, a storm, telemetry, per silo count:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --production [--silos 1,2,3] [--servers 10000] [--kill]
// Configuration as code at fleet size (plan and apply of one document), on the production shape:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --config-apply [--servers 10000] [--silos 1]
// How many servers one silo can probe at a 15 s interval:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --probes [--step 1000] [--max 8000]
// Kubernetes discovery: N MCPServers from one listing of a stand-in API server, then single watch events, timed:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --discovery [--servers 10000] [--silos 1]
// Service-level objectives: a server's 30 days of history in bytes, one evaluation over N servers (CPU), the summary's p99:
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --slo [--servers 10000]
// Who is on call, for 1,000 schedules over 6 months of shifts (p50 and p99):
//   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --oncall [--schedules 1000] [--asks 2000]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Monitoring.Servers;

// The product's processes run with the product's own compilation settings here (the tests start them quicker).
Monitoring.Tests.Support.ClusterProcess.QuickStart = false;

if (args.Contains("--floor-host"))
{
    await GrainFloor.RunAsync(args);
    return;
}

if (args.Contains("--incident-storm"))
{
    await IncidentStorm.RunAsync(args);
    return;
}

if (args.Contains("--am-storm"))
{
    await AlertmanagerStorm.RunAsync(args);
    return;
}

if (args.Contains("--production"))
{
    await ProductionStorm.RunAsync(args);
    return;
}

if (args.Contains("--telemetry"))
{
    await TelemetryThroughput.RunAsync(args);
    return;
}

if (args.Contains("--config-apply"))
{
    await ConfigApply.RunAsync(args);
    return;
}

if (args.Contains("--discovery"))
{
    await DiscoveryApply.RunAsync(args);
    return;
}

if (args.Contains("--slo"))
{
    await SloEvaluation.RunAsync(args);
    return;
}

if (args.Contains("--oncall"))
{
    await OnCallQueries.RunAsync(args);
    return;
}

if (args.Contains("--probes"))
{
    await ProbeCapacity.RunAsync(args);
    return;
}

var alerts = args.SkipWhile(a => a != "--alerts").Skip(1).Select(int.Parse).DefaultIfEmpty(1000).First();
// The servers' endpoints are dead ports: with probes on (--probes-on) each server's MCP probe fails every 30 s, which is
// background work a fleet of unreachable servers costs, not part of the breach path this measures.
var probesOn = args.Contains("--probes-on");
const string apiUrl = "http://127.0.0.1:5391";

// 1. A loopback webhook receiver that stamps each alert's arrival.
var arrivals = new ConcurrentDictionary<string, long>();
var (receiver, hookUrl) = await BenchHost.StartFiringReceiverAsync(arrivals);

// 2. The product exactly as a user starts it, in Release, on its own ports.
var api = BenchHost.StartApi(apiUrl, 21111, 40111);
using var http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(30) };
try
{
    await BenchHost.WaitForHealthAsync(http);
    Console.WriteLine($"{Environment.ProcessorCount} cores; API up (pid {api.Id}); {alerts} servers, one alert each; MCP probes of their dead endpoints {(probesOn ? "on" : "off")}");
    var rssBefore = Rss(api);

    await BenchHost.PostAsync(http, "/api/channels", new { id = "bench", type = "webhook", config = new { url = hookUrl } });
    await BenchHost.PostAsync(http, "/api/rules", new
    {
        id = "bench-errors", name = "Bench errors", condition = "error_rate > 0.05", @for = "0s", severity = "critical",
        channels = new[] { "bench" }, escalateAfter = "off", selector = new Dictionary<string, string> { ["bench"] = "1" },
    });
    await Parallel.ForEachAsync(Enumerable.Range(0, alerts), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        await BenchHost.PostAsync(http, "/api/servers", new
        {
            id = $"srv-{i}", name = $"Server {i}", endpoint = $"http://127.0.0.1:1/{i}", labels = new Dictionary<string, string> { ["bench"] = "1" },
            probe = new { enabled = probesOn },
        }));

    // Healthy traffic first, so every server has a full window (every bucket and latency slice), then measure.
    await Parallel.ForEachAsync(Enumerable.Range(0, alerts), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        (await http.PostAsJsonAsync($"/api/servers/srv-{i}/telemetry", BenchHost.FullWindow(DateTimeOffset.UtcNow))).EnsureSuccessStatusCode());
    var rssAfter = Rss(api);

    // 3a. One breach at a time: latency with the cluster otherwise idle.
    var sequential = await MeasureAsync(http, arrivals, Enumerable.Range(0, alerts / 2).ToArray(), parallelism: 1);
    // 3b. A burst: the rest of the servers breach together, 64 pushes in flight.
    var burst = await MeasureAsync(http, arrivals, Enumerable.Range(alerts / 2, alerts - alerts / 2).ToArray(), parallelism: 64);
    var rssAlerting = Rss(api);

    Report("sequential (1 in flight)", sequential.Latencies, sequential.Elapsed);
    Report("burst (64 in flight)", burst.Latencies, burst.Elapsed);
    var all = sequential.Latencies.Concat(burst.Latencies).ToArray();
    Report($"all {all.Length} alerts", all, sequential.Elapsed + burst.Elapsed);

    Console.WriteLine();
    var (measured, counted) = MeasureWindowBytes();
    Console.WriteLine($"metric window, full (every bucket and slice holding 10-408 ms requests): {measured:N0} bytes per server measured, {counted:N0} counted (bound, every latency bucket used: {MetricWindow.MaxBytes:N0})");
    Console.WriteLine($"API process RSS growth for {alerts} servers with full windows: {(rssAfter - rssBefore) / (double)alerts:N0} bytes per server");
    Console.WriteLine($"API process RSS growth for {alerts} servers with full windows and one open alert each: {(rssAlerting - rssBefore) / (double)alerts:N0} bytes per server");
}
finally
{
    api.Kill(entireProcessTree: true);
    await receiver.StopAsync();
}

static async Task<(double[] Latencies, TimeSpan Elapsed)> MeasureAsync(HttpClient http, ConcurrentDictionary<string, long> arrivals, int[] servers, int parallelism)
{
    var sent = new ConcurrentDictionary<string, long>();
    var breach = BenchHost.Breach(50);
    var started = Stopwatch.GetTimestamp();
    await Parallel.ForEachAsync(servers, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, _) =>
    {
        sent[$"bench-errors:srv-{i}"] = Stopwatch.GetTimestamp();
        (await http.PostAsync($"/api/servers/srv-{i}/telemetry", breach())).EnsureSuccessStatusCode();
    });
    var deadline = DateTime.UtcNow.AddSeconds(60);
    while (sent.Keys.Any(k => !arrivals.ContainsKey(k)) && DateTime.UtcNow < deadline) await Task.Delay(5);
    var elapsed = Stopwatch.GetElapsedTime(started);
    var missing = sent.Keys.Count(k => !arrivals.ContainsKey(k));
    if (missing > 0) Console.WriteLine($"!! {missing} alerts never reached the webhook");
    return ([.. sent.Where(s => arrivals.ContainsKey(s.Key)).Select(s => Stopwatch.GetElapsedTime(s.Value, arrivals[s.Key]).TotalMilliseconds)], elapsed);
}

static void Report(string name, double[] latencies, TimeSpan elapsed)
{
    Array.Sort(latencies);
    double P(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
    Console.WriteLine($"{name,-26} n={latencies.Length,5}  breach->webhook p50 {P(0.50),7:F2} ms  p99 {P(0.99),7:F2} ms  max {P(1),7:F2} ms  ({latencies.Length / elapsed.TotalSeconds:N0} alerts/s)");
}

// A window as the benchmark's servers fill theirs (200 requests over 285 s at 10 to 408 ms): measured on the heap, and
// as the window counts itself.
static (long Measured, int Counted) MeasureWindowBytes()
{
    const int count = 1000;
    var now = DateTimeOffset.UtcNow;
    var windows = new MetricWindow[count];
    var before = GC.GetTotalMemory(forceFullCollection: true);
    for (var w = 0; w < count; w++)
    {
        windows[w] = new MetricWindow(TimeSpan.FromMinutes(5));
        for (var r = 0; r < 200; r++) windows[w].Record(now.AddSeconds(-285 + r * 285 / 200.0), now, (10 + r * 2) / 1000.0, true, true);
        windows[w].RecordGauges(new GaugeReading(1, 1, 1), now);
    }
    var after = GC.GetTotalMemory(forceFullCollection: true);
    GC.KeepAlive(windows);
    return ((after - before) / count, windows[0].Bytes);
}

static long Rss(Process process)
{
    // The API runs as a child of `dotnet run`: measure it, not the launcher.
    return BenchHost.RssBytes(BenchHost.ApiPid(process));
}
