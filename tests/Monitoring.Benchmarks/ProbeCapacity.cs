using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Monitoring.Probing;

/// <summary>
/// Registers servers in steps against two real MCP servers on loopback (one legacy with sessions, one stateless), with
/// the default 15 s probe interval, and reads the product's own /metrics to see whether one silo keeps up: probes per
/// second achieved against the N/15 needed, rounds skipped because the previous one was still running, and probe latency.
/// Everything shares the machine's 2 cores, the MCP servers included, so the figure is a floor.
/// </summary>
public static class ProbeCapacity
{
    private const string ApiUrl = "http://127.0.0.1:5392";

    public static async Task RunAsync(string[] args)
    {
        var step = Option(args, "--step", 1000);
        var max = Option(args, "--max", 8000);
        var measureSeconds = Option(args, "--seconds", 30);
        await using var legacy = await StartMcpServerAsync(legacy: true);
        await using var modern = await StartMcpServerAsync(legacy: false);
        var api = BenchHost.StartApi(ApiUrl, 21112, 40112);
        using var http = new HttpClient { BaseAddress = new Uri(ApiUrl), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await BenchHost.WaitForHealthAsync(http);
            Console.WriteLine($"servers  needed/s  probes/s  ok%    skipped/s  probe p50   probe p99");
            var registered = 0;
            for (var target = step; target <= max; target += step)
            {
                await Parallel.ForEachAsync(Enumerable.Range(registered, target - registered), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
                {
                    var endpoint = i % 2 == 0 ? legacy.Urls.First() : modern.Urls.First();
                    var response = await http.PostAsJsonAsync("/api/servers", new { id = $"probe-{i}", name = $"Probe {i}", endpoint = endpoint + "/mcp" });
                    response.EnsureSuccessStatusCode();
                });
                registered = target;
                // One whole interval lets every new server's jittered first round start before measuring.
                await Task.Delay(TimeSpan.FromSeconds(16));
                var before = await ReadAsync(http);
                var watch = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(measureSeconds));
                var after = await ReadAsync(http);
                var seconds = watch.Elapsed.TotalSeconds;
                var probes = (after.Probes - before.Probes) / seconds;
                var ok = after.Ok - before.Ok;
                var deltas = after.Buckets.Zip(before.Buckets, (a, b) => a - b).ToArray();
                var p50 = ScrapeSeries.HistogramQuantile(0.5, after.Bounds, deltas) * 1000;
                var p99 = ScrapeSeries.HistogramQuantile(0.99, after.Bounds, deltas) * 1000;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{target,7}  {target / 15.0,8:F0}  {probes,8:F0}  {100.0 * ok / Math.Max(1, after.Probes - before.Probes),5:F1}  {(after.Skipped - before.Skipped) / seconds,9:F1}  {p50,7:F1} ms  {p99,7:F1} ms"));
                if (probes < 0.9 * target / 15.0)
                {
                    Console.WriteLine($"falls behind at {target} servers: {probes:F0} probes/s against {target / 15.0:F0} needed");
                    break;
                }
            }
        }
        finally
        {
            api.Kill(entireProcessTree: true);
        }
    }

    private sealed record Reading(double Probes, double Ok, double Skipped, double[] Bounds, double[] Buckets);

    private static async Task<Reading> ReadAsync(HttpClient http)
    {
        var samples = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
        double Sum(string name, Func<PrometheusSample, bool>? filter = null) => samples.Where(s => s.Name == name && (filter?.Invoke(s) ?? true)).Sum(s => s.Value);
        var buckets = samples.Where(s => s.Name == "mcp_alerting_probe_duration_seconds_bucket")
            .Select(s => (Bound: s.Label("le") == "+Inf" ? double.PositiveInfinity : double.Parse(s.Label("le")!, CultureInfo.InvariantCulture), s.Value))
            .OrderBy(b => b.Bound).ToArray();
        return new Reading(
            Sum("mcp_alerting_probes_total"),
            Sum("mcp_alerting_probes_total", s => s.Label("outcome") == "ok"),
            Sum("mcp_alerting_check_rounds_skipped_total"),
            [.. buckets.Select(b => b.Bound)],
            [.. buckets.Select(b => b.Value)]);
    }

    private static async Task<WebApplication> StartMcpServerAsync(bool legacy)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = legacy ? "bench-legacy" : "bench-modern", Version = "1.0" };
                options.ProtocolVersion = legacy ? "2025-06-18" : null;
            })
            .WithHttpTransport(options => options.Stateless = !legacy)
            .WithTools([
                McpServerTool.Create(([Description("query")] string q) => q, new McpServerToolCreateOptions { Name = "search" }),
                McpServerTool.Create(([Description("url")] string url) => url, new McpServerToolCreateOptions { Name = "fetch" }),
            ]);
        var app = builder.Build();
        app.MapMcp("/mcp");
        await app.StartAsync();
        return app;
    }

    private static int Option(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();
}
