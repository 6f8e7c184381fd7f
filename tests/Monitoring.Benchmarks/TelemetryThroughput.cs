using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

/// <summary>
/// Steady-state telemetry into one silo (the embedded product): healthy traffic for a fleet, through each ingest path
/// in turn for a fixed time, with every server's rules evaluated on each push as in production. Prints requests/s,
/// request records/s and the CPU the product's process used.
///   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --telemetry [--servers 1000] [--seconds 15]
/// </summary>
public static class TelemetryThroughput
{
    public static int Arg(string[] args, string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();

    public static async Task RunAsync(string[] args)
    {
        var servers = args.SkipWhile(a => a != "--servers").Skip(1).Select(int.Parse).DefaultIfEmpty(1000).First();
        var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).DefaultIfEmpty(15).First();
        const string apiUrl = "http://127.0.0.1:5393";
        var api = BenchHost.StartApi(apiUrl, 21113, 40113);
        using var http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await BenchHost.WaitForHealthAsync(http);
            var pid = BenchHost.ApiPid(api);
            Console.WriteLine($"{Environment.ProcessorCount} cores; API up (pid {pid}); {servers} servers, healthy traffic, {seconds} s per path, rules evaluated on every push");
            await BenchHost.PostAsync(http, "/api/rules", new
            {
                id = "errors", name = "Errors", condition = "error_rate > 0.05", severity = "critical", channels = Array.Empty<string>(),
                selector = new Dictionary<string, string> { ["fleet"] = "1" },
            });
            foreach (var chunk in Enumerable.Range(0, servers).Chunk(1000))
            {
                await BenchHost.PostAsync(http, "/api/servers/bulk", new
                {
                    servers = chunk.Select(i => new
                    {
                        id = $"t-{i}", name = $"T {i}", endpoint = $"http://127.0.0.1:1/{i}",
                        labels = new Dictionary<string, string> { ["fleet"] = "1" }, probe = new { enabled = false },
                    }),
                });
            }

            Console.WriteLine();
            await RunPathsAsync(http, servers, seconds, () => BenchHost.CpuSeconds(pid));
            var status = await http.GetFromJsonAsync<JsonElement>("/api/servers/t-0");
            Console.WriteLine();
            Console.WriteLine($"t-0 afterwards: {status.GetProperty("requestsInWindow").GetInt64():N0} requests in its window, health {status.GetProperty("health").GetProperty("status").GetString()}");
        }
        finally
        {
            api.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Both paths in turn against a fleet registered as t-0..t-{servers-1}; CPU is what <paramref name="cpuSeconds"/> counts (the product's processes).</summary>
    public static async Task RunPathsAsync(HttpClient http, int servers, int seconds, Func<double> cpuSeconds)
    {
        Console.WriteLine($"| path | per request | HTTP requests/s | request records/s | product CPU (cores of {Environment.ProcessorCount}) | records per CPU-second |");
        Console.WriteLine("|---|---|---|---|---|---|");

        // 1. JSON, one record per request handled: POST /api/telemetry, 100 servers × 100 records a request.
        const int perServer = 100, perRequest = 100;
        var jsonBodies = Enumerable.Range(0, (servers + perRequest - 1) / perRequest).Select(b => JsonSerializer.SerializeToUtf8Bytes(new
        {
            servers = Enumerable.Range(b * perRequest, Math.Min(perRequest, servers - b * perRequest)).Select(i => new
            {
                serverId = $"t-{i}",
                telemetry = new { requests = Enumerable.Range(0, perServer).Select(r => new { method = "tools/call", tool = "search", durationMs = 20 + r % 30, success = true }) },
            }),
        }, JsonSerializerOptions.Web)).ToArray();
        await RunPathAsync("JSON records, `POST /api/telemetry`", $"{perRequest} servers × {perServer} records", cpuSeconds, seconds, jsonBodies,
            body => new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, http, "/api/telemetry",
            async response => (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt64());

        // 2. OTLP protobuf, as an OpenTelemetry SDK exports: one delta histogram point per server and export, each
        //    summing 1,000 requests over the semantic conventions' bucket bounds; 500 servers a request (a collector).
        const int otlpPerRequest = 500, requestsPerPoint = 1000;
        var otlpBodies = Enumerable.Range(0, (servers + otlpPerRequest - 1) / otlpPerRequest)
            .Select(b => Otlp(Enumerable.Range(b * otlpPerRequest, Math.Min(otlpPerRequest, servers - b * otlpPerRequest)), requestsPerPoint).ToByteArray()).ToArray();
        await RunPathAsync("OTLP protobuf, `POST /v1/metrics`", $"{otlpPerRequest} servers × 1 point of {requestsPerPoint:N0}", cpuSeconds, seconds, otlpBodies,
            body => new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-protobuf") } }, http, "/v1/metrics",
            async response =>
            {
                var answer = ExportMetricsServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
                if (answer.PartialSuccess is { RejectedDataPoints: > 0 } partial) throw new InvalidOperationException(partial.ErrorMessage);
                return Math.Min(otlpPerRequest, servers) * (long)requestsPerPoint;
            });
    }

    private static async Task RunPathAsync(string name, string shape, Func<double> cpuSeconds, int seconds, byte[][] bodies,
        Func<byte[], HttpContent> content, HttpClient http, string url, Func<HttpResponseMessage, Task<long>> accepted)
    {
        // Warm up one round, then run for the time given with 4 requests in flight, cycling through the bodies.
        foreach (var body in bodies) await SendAsync(http, url, content(body), accepted);
        long requests = 0, records = 0;
        var cpuBefore = cpuSeconds();
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Parallel.ForEachAsync(Enumerable.Range(0, 4), async (_, _) =>
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var body = bodies[(int)((uint)Interlocked.Increment(ref next) % bodies.Length)];
                var taken = await SendAsync(http, url, content(body), accepted);
                Interlocked.Increment(ref requests);
                Interlocked.Add(ref records, taken);
            }
        });
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpu = cpuSeconds() - cpuBefore;
        Console.WriteLine($"| {name} | {shape} | {requests / elapsed:N0} | **{records / elapsed:N0}** | {cpu / elapsed:F2} | {records / Math.Max(cpu, 1e-9):N0} |");
    }

    private static async Task<long> SendAsync(HttpClient http, string url, HttpContent content, Func<HttpResponseMessage, Task<long>> accepted)
    {
        using var response = await http.PostAsync(url, content);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await accepted(response);
    }

    private static readonly double[] Bounds = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

    private static ExportMetricsServiceRequest Otlp(IEnumerable<int> servers, int requestsPerPoint)
    {
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var request = new ExportMetricsServiceRequest();
        foreach (var i in servers)
        {
            var point = new HistogramDataPoint
            {
                StartTimeUnixNano = now - 10_000_000_000, TimeUnixNano = now, Count = (ulong)requestsPerPoint, Sum = requestsPerPoint * 0.03,
                Min = 0.012, Max = 0.09,
            };
            point.ExplicitBounds.Add(Bounds);
            point.BucketCounts.Add([0, (ulong)(requestsPerPoint / 4), (ulong)(requestsPerPoint / 2), (ulong)(requestsPerPoint - requestsPerPoint / 4 - requestsPerPoint / 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            point.Attributes.Add(new KeyValue { Key = "mcp.method.name", Value = new AnyValue { StringValue = "tools/call" } });
            point.Attributes.Add(new KeyValue { Key = "gen_ai.tool.name", Value = new AnyValue { StringValue = "search" } });
            var metric = new Metric { Name = "mcp.server.operation.duration", Unit = "s", Histogram = new Histogram { AggregationTemporality = AggregationTemporality.Delta } };
            metric.Histogram.DataPoints.Add(point);
            var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = "bench" } };
            scope.Metrics.Add(metric);
            var resource = new ResourceMetrics { Resource = new Resource() };
            resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = $"t-{i}" } });
            resource.ScopeMetrics.Add(scope);
            request.ResourceMetrics.Add(resource);
        }
        return request;
    }
}
