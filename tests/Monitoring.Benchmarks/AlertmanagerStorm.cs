using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

/// <summary>
/// A storm through <c>POST /api/v2/alerts</c>, side by side with Debian's Alertmanager (when installed) in the same
/// run: N distinct alerts in batches, grouped by storm and instance so each alert is its own notification (and a later
/// storm's alerts open groups of their own rather than joining an earlier storm's), group_wait 0s, one
/// webhook receiver on loopback for both. Prints the accept rate, the time until every alert was delivered, and the
/// p50/p99 of each alert's post-to-delivery time.
///   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --am-storm [--alerts 10000,50000] [--batch 500] [--in-flight 4]
///   ... --am-storm --production [--silos 3] [--settle 130]: the product as silo processes on PostgreSQL; with --settle, what the open incidents cost at rest
///   ... --am-storm --floor: also the grain floor (<see cref="GrainFloor"/>), the product's hops with nothing in them, as a third system
/// </summary>
public static class AlertmanagerStorm
{
    public static async Task RunAsync(string[] args)
    {
        var sizes = args.SkipWhile(a => a != "--alerts").Skip(1).DefaultIfEmpty("10000,50000").First().Split(',').Select(int.Parse).ToArray();
        var batch = args.SkipWhile(a => a != "--batch").Skip(1).Select(int.Parse).DefaultIfEmpty(500).First();
        var inFlight = args.SkipWhile(a => a != "--in-flight").Skip(1).Select(int.Parse).DefaultIfEmpty(4).First();
        var settle = TelemetryThroughput.Arg(args, "--settle", 0);

        var delivered = new ConcurrentDictionary<string, long>();
        string? sample = null; // one of the product's webhook bodies, for the delivery floor
        var (receiver, hookBase) = await BenchHost.StartReceiverAsync((who, raw, now) =>
        {
            if (who == "product") sample ??= raw;
            using var body = JsonDocument.Parse(raw);
            // Alertmanager's webhook lists alerts at the top; the product's lists an incident's alerts.
            var alerts = body.RootElement.TryGetProperty("incident", out var incident) ? incident.GetProperty("alerts") : body.RootElement.GetProperty("alerts");
            foreach (var alert in alerts.EnumerateArray())
            {
                if (alert.GetProperty("status").GetString() != "firing") continue;
                var labels = alert.GetProperty("labels");
                delivered.TryAdd($"{who}/{labels.GetProperty("storm").GetString()}/{labels.GetProperty("instance").GetString()}", now);
            }
        });
        Console.WriteLine($"{Environment.ProcessorCount} cores; storms of {string.Join(", ", sizes)} distinct alerts, {batch} per request, {inFlight} requests in flight, grouped by storm and instance, group_wait 0s");

        Process? alertmanager = null;
        var amBinary = new[] { "/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager" }.FirstOrDefault(File.Exists);
        var amDirectory = Directory.CreateTempSubdirectory("am-bench-");
        const string amUrl = "http://127.0.0.1:19093";
        if (amBinary is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(amDirectory.FullName, "am.yml"), $$"""
                route: {receiver: hook, group_by: [storm, instance], group_wait: 0s, group_interval: 5m, repeat_interval: 4h}
                receivers:
                  - name: hook
                    webhook_configs: [{url: "{{hookBase}}/alertmanager", send_resolved: false}]
                """);
            alertmanager = Process.Start(new ProcessStartInfo(amBinary,
                $"--config.file={Path.Combine(amDirectory.FullName, "am.yml")} --storage.path={amDirectory.FullName} --web.listen-address=127.0.0.1:19093 --cluster.listen-address= --log.level=warn")
            { RedirectStandardError = true, RedirectStandardOutput = true })!;
            alertmanager.OutputDataReceived += (_, _) => { };
            alertmanager.ErrorDataReceived += (_, _) => { };
            alertmanager.BeginOutputReadLine();
            alertmanager.BeginErrorReadLine();
        }
        else
        {
            Console.WriteLine("Alertmanager is not installed (apt-get install prometheus-alertmanager): this product only");
        }

        // Alertmanager has no cluster-wide notification cap; the product's (500/s by default, protecting receivers) is
        // turned off so both send as fast as they can. --production runs the product as silos on PostgreSQL with Redis
        // membership and the API as a client (the tests' harness), instead of the embedded process.
        var production = args.Contains("--production");
        var silos = TelemetryThroughput.Arg(args, "--silos", 3);
        Process? api = null;
        Process? floor = null;
        const string floorUrl = "http://127.0.0.1:5394";
        Monitoring.Tests.Support.ProcessCluster? cluster = null;
        string apiUrl;
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        if (production)
        {
            // Production's reminder period (the harness's default of 5 s is for tests that kill silos).
            cluster = await Monitoring.Tests.Support.ProcessCluster.StartAsync(silos, 400, null, ("Notifications__ClusterRatePerSecond", "0"), ("Monitoring__ReminderPeriod", "00:01:00"));
            apiUrl = cluster.Http.BaseAddress!.ToString().TrimEnd('/');
            http.DefaultRequestHeaders.Authorization = cluster.Http.DefaultRequestHeaders.Authorization; // Alertmanager ignores it
            Console.WriteLine($"the product: {silos} silo processes on PostgreSQL, Redis membership, the API as a client");
        }
        else
        {
            apiUrl = "http://127.0.0.1:5393";
            api = BenchHost.StartApi(apiUrl, 21113, 40113, "--Notifications:ClusterRatePerSecond=0");
        }
        try
        {
            if (args.Contains("--floor"))
            {
                floor = StartFloor(floorUrl, $"{hookBase}/grain-floor");
                await WaitUpAsync(http, $"{floorUrl}/ready");
            }
            if (api is not null) await BenchHost.WaitForHealthAsync(new HttpClient { BaseAddress = new Uri(apiUrl) });
            await Send(http, HttpMethod.Post, $"{apiUrl}/api/channels", JsonSerializer.Serialize(new { id = "bench", type = "webhook", config = new { url = $"{hookBase}/product" } }));
            await Send(http, HttpMethod.Put, $"{apiUrl}/api/routing", JsonSerializer.Serialize(new
            {
                route = new { receiver = "bench", groupBy = new[] { "storm", "instance" }, groupWait = "0s" },
                receivers = new[] { new { name = "bench", channels = new[] { "bench" }, sendResolved = false } },
            }));
            if (alertmanager is not null) await WaitUpAsync(http, $"{amUrl}/-/ready");
            Console.WriteLine("| system | alerts | accepted in | accept rate | all delivered after | p50 | p99 |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            var storms = new List<StormRow>();
            foreach (var size in sizes)
            {
                var amSeconds = alertmanager is null ? null : await StormAsync(http, "alertmanager", $"{amUrl}/api/v2/alerts", size, batch, inFlight, delivered);
                var cpuBefore = api is null ? 0 : BenchHost.CpuSeconds(BenchHost.ApiPid(api));
                var gcBefore = api is null ? default : await CollectorAsync(http, apiUrl);
                var clusterCpuBefore = cluster is null ? default : ClusterCpu(cluster);
                if (cluster is not null) await ProductionStorm.ExecuteAsync(cluster, "create extension if not exists pg_stat_statements; select pg_stat_statements_reset()");
                var productSeconds = await StormAsync(http, "product", $"{apiUrl}/api/v2/alerts", size, batch, inFlight, delivered, production, silos);
                double? cpuPerAlert = null, kbPerAlert = null;
                if (api is not null)
                {
                    var cpu = BenchHost.CpuSeconds(BenchHost.ApiPid(api)) - cpuBefore;
                    var gc = await CollectorAsync(http, apiUrl);
                    cpuPerAlert = cpu * 1000 / size;
                    kbPerAlert = (gc.Allocated - gcBefore.Allocated) / 1024 / size;
                    Console.WriteLine($"| (the product's process used {cpu:F1} s of CPU for the {size:N0}: {cpu * 1000 / size:F2} ms an alert; " +
                        $"it allocated {kbPerAlert:F1} KB an alert, and its collector paused it {gc.Paused - gcBefore.Paused:F2} s) | | | | | | |");
                }
                if (cluster is not null)
                {
                    var after = ClusterCpu(cluster);
                    Console.WriteLine($"| (CPU for the {size:N0}: silos {after.Silos - clusterCpuBefore.Silos:F1} s, API {after.Api - clusterCpuBefore.Api:F1} s, " +
                        $"PostgreSQL {after.Postgres - clusterCpuBefore.Postgres:F1} s; {(after.Silos + after.Api + after.Postgres - clusterCpuBefore.Silos - clusterCpuBefore.Api - clusterCpuBefore.Postgres) * 1000 / size:F2} ms an alert) | | | | | | |");
                    ExtraLines.Clear(); // statements are counted from the last storm's start
                    ExtraLines.Add(() => ProductionStorm.PrintStatementsAsync(cluster, "per alert", size, reset: false));
                    ExtraLines.Add(() => ProductionStorm.PrintStateWritesAsync(cluster));
                    if (settle > 0)
                    {
                        // Every alert holds for the resolve timeout (5 minutes; none is re-sent): the incidents stay open, and what they cost at rest is read over the settle time.
                        ExtraLines.Add(async () =>
                        {
                            var before = await ProductionStorm.PgStatsAsync(cluster);
                            var tables = await ProductionStorm.PgTablesAsync(cluster);
                            var cpu = ClusterCpu(cluster);
                            await Task.Delay(TimeSpan.FromSeconds(settle));
                            var after = ClusterCpu(cluster);
                            Console.WriteLine($"at rest with {size:N0} incidents open, over {settle} s: PostgreSQL per incident {ProductionStorm.Per(await ProductionStorm.PgStatsAsync(cluster), before, size)}; " +
                                $"CPU silos {after.Silos - cpu.Silos:F1} s, PostgreSQL {after.Postgres - cpu.Postgres:F1} s");
                            ProductionStorm.PrintTables("  per incident at rest", tables, await ProductionStorm.PgTablesAsync(cluster), size);
                            await ProductionStorm.PrintStateWritesAsync(cluster);
                        });
                    }
                }
                double? floorSeconds = null, floorCpuPerAlert = null;
                if (floor is not null)
                {
                    var floorCpu = BenchHost.CpuSeconds(floor.Id);
                    floorSeconds = await StormAsync(http, "grain-floor", $"{floorUrl}/api/v2/alerts", size, batch, inFlight, delivered);
                    floorCpu = BenchHost.CpuSeconds(floor.Id) - floorCpu;
                    floorCpuPerAlert = floorCpu * 1000 / size;
                    Console.WriteLine($"| (the grain floor's process used {floorCpu:F1} s of CPU for the {size:N0}: {floorCpuPerAlert:F2} ms an alert) | | | | | | |");
                }
                if (sample is not null) await FloorAsync(sample, $"{hookBase}/receiver-floor", size, delivered);
                storms.Add(new StormRow(amSeconds, productSeconds, cpuPerAlert, floorSeconds, floorCpuPerAlert, kbPerAlert));
            }
            PrintWarm(storms);
        }
        finally
        {
            foreach (var print in ExtraLines) await print();
            ExtraLines.Clear();
            try { api?.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            try { floor?.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (cluster is not null) await cluster.DisposeAsync();
            try { alertmanager?.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            amDirectory.Delete(recursive: true);
            await receiver.StopAsync();
        }
    }

    /// <summary>What prints after the table (PostgreSQL's statements per alert in production mode).</summary>
    private static readonly List<Func<Task>> ExtraLines = [];

    private static (double Silos, double Api, double Postgres) ClusterCpu(Monitoring.Tests.Support.ProcessCluster cluster) =>
        (cluster.Silos.Sum(s => s.Process.HasExited ? 0 : BenchHost.CpuSeconds(s.Process.Id)), BenchHost.CpuSeconds(cluster.Api!.Process.Id), BenchHost.CpuSecondsOfAll("postgres"));

    /// <param name="who">Also the receiver's path: deliveries are counted by it.</param>
    /// <returns>Seconds until every alert was delivered, or null when some never were.</returns>
    private static async Task<double?> StormAsync(HttpClient http, string who, string url, int size, int batch, int inFlight, ConcurrentDictionary<string, long> delivered, bool production = false, int silos = 0)
    {
        var storm = Guid.NewGuid().ToString("N")[..8];
        var sentAt = new long[size];
        var resent = 0;
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, (size + batch - 1) / batch), new ParallelOptions { MaxDegreeOfParallelism = inFlight }, async (b, _) =>
        {
            var json = new StringBuilder("[");
            var now = Stopwatch.GetTimestamp();
            for (var i = b * batch; i < Math.Min(size, (b + 1) * batch); i++)
            {
                if (json.Length > 1) json.Append(',');
                json.Append($$"""{"labels":{"alertname":"SharedDependencyDown","storm":"{{storm}}","instance":"srv-{{i:00000}}","severity":"critical"},"annotations":{"summary":"srv-{{i:00000}} cannot reach the gateway"},"generatorURL":"http://prometheus.local/graph"}""");
                sentAt[i] = now;
            }
            json.Append(']');
            // A 503 (the cluster busy or failing over) says "nothing was lost: send it again": resend, as Prometheus would.
            for (var attempt = 1; ; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json.ToString(), Encoding.UTF8, "application/json") };
                using var response = await http.SendAsync(request);
                if (response.IsSuccessStatusCode) break;
                if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || attempt == 20)
                {
                    throw new InvalidOperationException($"POST {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                Interlocked.Increment(ref resent);
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
            }
        });
        var accepted = Stopwatch.GetElapsedTime(started);
        var deadline = Stopwatch.StartNew();
        var prefix = $"{who}/{storm}/";
        while (delivered.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)) < size && deadline.Elapsed < TimeSpan.FromMinutes(10)) await Task.Delay(100);
        var latencies = Enumerable.Range(0, size)
            .Select(i => delivered.TryGetValue($"{prefix}srv-{i:00000}", out var at) ? Stopwatch.GetElapsedTime(sentAt[i], at).TotalMilliseconds : double.NaN)
            .Where(l => !double.IsNaN(l)).Order().ToArray();
        double? allSeconds = latencies.Length == size
            ? Stopwatch.GetElapsedTime(started, delivered.Where(k => k.Key.StartsWith(prefix, StringComparison.Ordinal)).Max(k => k.Value)).TotalSeconds
            : null;
        var all = allSeconds is { } seconds ? $"{seconds:F1} s" : $"only {latencies.Length} in 10 min";
        var label = who + (production ? $", {silos} silos" : "") + (resent > 0 ? $" ({resent} batches resent after 503)" : "");
        Console.WriteLine($"| {label} | {size:N0} | {accepted.TotalSeconds:F1} s | {size / accepted.TotalSeconds:N0}/s | {all} | {Percentile(latencies, 0.5) / 1000:F1} s | {Percentile(latencies, 0.99) / 1000:F1} s |");
        return allSeconds;
    }

    /// <summary>One storm's figures: each system's time until all was delivered (null when some never were), and CPU an alert.</summary>
    private sealed record StormRow(double? Alertmanager, double? Product, double? CpuPerAlert, double? Floor, double? FloorCpuPerAlert, double? KbPerAlert);

    /// <summary>
    /// What the embedded product's collector has cost so far, from its /metrics (the runtime's own meter): bytes
    /// allocated and seconds paused. Allocation per alert varies far less between runs than CPU does on this machine.
    /// </summary>
    private static async Task<(double Allocated, double Paused)> CollectorAsync(HttpClient http, string apiUrl)
    {
        var text = await http.GetStringAsync($"{apiUrl}/metrics");
        double Read(string name) => text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], CultureInfo.InvariantCulture)).Single();
        return (Read("system_runtime_dotnet_gc_heap_total_allocated"), Read("system_runtime_dotnet_gc_pause_time"));
    }

    /// <summary>This benchmark's own program as the grain floor's host, in a process of its own.</summary>
    private static Process StartFloor(string url, string hook)
    {
        var self = Environment.ProcessPath!;
        var command = Path.GetFileNameWithoutExtension(self) == "dotnet" ? $"{typeof(GrainFloor).Assembly.Location} " : "";
        var process = Process.Start(new ProcessStartInfo(self, $"{command}--floor-host {url} --hook {hook}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Console.Error.WriteLine($"grain floor: {line}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// The storms after the first (the first also pays for compiling the path) summed up as median and range: one storm
    /// on this machine varies by a sixth or more, Alertmanager's as much as the product's, so a change is judged on these.
    /// </summary>
    private static void PrintWarm(List<StormRow> storms)
    {
        var warm = storms.Skip(1).ToArray();
        if (warm.Length < 2) return;
        static string Spread(IEnumerable<double> values, string format, string unit)
        {
            var sorted = values.Order().ToArray();
            if (sorted.Length == 0) return "none";
            var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
            return $"{median.ToString(format, CultureInfo.InvariantCulture)}{unit} ({sorted[0].ToString(format, CultureInfo.InvariantCulture)}–{sorted[^1].ToString(format, CultureInfo.InvariantCulture)})";
        }
        var ratios = warm.Where(w => w is { Alertmanager: > 0, Product: not null }).Select(w => w.Product!.Value / w.Alertmanager!.Value);
        Console.WriteLine($"{warm.Length} warm storms, median (range): product all delivered {Spread(warm.Where(w => w.Product is not null).Select(w => w.Product!.Value), "F1", " s")}, " +
            $"Alertmanager {Spread(warm.Where(w => w.Alertmanager is not null).Select(w => w.Alertmanager!.Value), "F1", " s")}, ratio {Spread(ratios, "F2", "")}, " +
            $"product CPU an alert {Spread(warm.Where(w => w.CpuPerAlert is not null).Select(w => w.CpuPerAlert!.Value), "F2", " ms")}, " +
            $"allocated an alert {Spread(warm.Where(w => w.KbPerAlert is not null).Select(w => w.KbPerAlert!.Value), "F1", " KB")}" +
            (warm.Any(w => w.Floor is not null)
                ? $"; grain floor all delivered {Spread(warm.Where(w => w.Floor is not null).Select(w => w.Floor!.Value), "F1", " s")}, CPU an alert {Spread(warm.Where(w => w.FloorCpuPerAlert is not null).Select(w => w.FloorCpuPerAlert!.Value), "F2", " ms")}"
                : ""));
    }

    /// <summary>
    /// The delivery floor on this machine: the same number of webhook posts, each the size of the product's own message
    /// for one alert, sent straight to the same receiver by one HttpClient with as many in flight as a channel allows
    /// (64). No product runs; this is what delivering one message per alert costs here before any alerting is done.
    /// </summary>
    private static async Task FloorAsync(string sample, string url, int size, ConcurrentDictionary<string, long> delivered)
    {
        using var document = JsonDocument.Parse(sample);
        var alert = document.RootElement.GetProperty("incident").GetProperty("alerts")[0].GetProperty("labels");
        var (oldStorm, oldInstance) = (alert.GetProperty("storm").GetString()!, alert.GetProperty("instance").GetString()!);
        var storm = Guid.NewGuid().ToString("N")[..8];
        using var client = new HttpClient();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, size), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var body = sample.Replace(oldStorm, storm, StringComparison.Ordinal).Replace(oldInstance, $"srv-{i:00000}", StringComparison.Ordinal);
            using var response = await client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        });
        var took = Stopwatch.GetElapsedTime(started);
        var received = delivered.Keys.Count(k => k.StartsWith($"receiver-floor/{storm}/", StringComparison.Ordinal));
        Console.WriteLine($"| delivery floor: {size:N0} posts of {Encoding.UTF8.GetByteCount(sample):N0} bytes, 64 in flight, no product | {size:N0} | | | {took.TotalSeconds:F1} s ({received:N0} received) | | |");
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static async Task Send(HttpClient http, HttpMethod method, string url, string json)
    {
        using var request = new HttpRequestMessage(method, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task WaitUpAsync(HttpClient http, string url)
    {
        for (var i = 0; i < 100; i++)
        {
            try { if ((await http.GetAsync(url)).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{url} did not come up");
    }
}
