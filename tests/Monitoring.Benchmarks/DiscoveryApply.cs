using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Monitoring.Tests.Support;

/// <summary>
/// Kubernetes discovery at fleet size, on the production shape (silos on PostgreSQL and Redis, the API as a client),
/// against the tests' stand-in API server: N verified lifecycle-operator MCPServers in one listing become servers
/// (timed from the source's creation until every one is registered), then single watch events (a new MCPServer
/// verified) until the server is in the API, each timed.
/// </summary>
public static class DiscoveryApply
{
    public static async Task RunAsync(string[] args)
    {
        var servers = args.SkipWhile(a => a != "--servers").Skip(1).Select(int.Parse).DefaultIfEmpty(10_000).First();
        var silos = args.SkipWhile(a => a != "--silos").Skip(1).Select(int.Parse).DefaultIfEmpty(1).First();
        const int Events = 20;
        Console.WriteLine($"{Environment.ProcessorCount} cores; production shape on loopback (PostgreSQL, Redis, {silos} silo process(es), the API as a client); "
            + $"a stand-in API server listing {servers} verified MCPServers in {servers / 100} namespaces");
        await using var kube = await StandInKubernetes.StartAsync();
        for (var i = 0; i < servers; i++)
        {
            kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer($"team-{i % (servers / 100)}", $"server-{i}", $"http://127.0.0.1:9/mcp/{i}", verified: true,
                new() { ["app.kubernetes.io/name"] = $"server-{i}", ["team"] = $"team-{i % 100}" }));
        }
        await using var cluster = await ProcessCluster.StartAsync(silos, 400, null);
        using var http = new HttpClient { BaseAddress = cluster.Http.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = cluster.Http.DefaultRequestHeaders.Authorization;
        double Cpu() => cluster.Silos.Select(s => s.Process.Id).Append(cluster.Api!.Process.Id).Sum(BenchHost.CpuSeconds) + BenchHost.CpuSecondsOfAll("postgres");

        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        using var created = await http.PostAsJsonAsync("/api/discovery/sources", new JsonObject
        {
            ["id"] = "kube", ["kind"] = "kubernetes", ["role"] = "mcpserver", ["url"] = kube.BaseUrl,
            ["relabel"] = new JsonArray(new JsonObject { ["sourceLabels"] = new JsonArray("__meta_kubernetes_mcpserver_label_team"), ["targetLabel"] = "owner" }),
        });
        if (created.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException(await created.Content.ReadAsStringAsync());
        var registered = 0;
        while (registered < servers)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"{registered} of {servers} registered after 5 minutes");
            await Task.Delay(100);
            var status = (await http.GetFromJsonAsync<JsonObject>("/api/discovery/sources/kube"))!["status"]!;
            registered = status["servers"]!.AsArray().Count;
            if (status["lastError"] is { } error && error.GetValueKind() == System.Text.Json.JsonValueKind.String) Console.WriteLine($"  error: {error}");
        }
        var listed = clock.Elapsed;
        var sample = await http.GetFromJsonAsync<JsonObject>($"/api/servers/kube.team-7.server-{7 + servers / 100 * 3}");
        Console.WriteLine($"{servers} servers from one listing     {listed.TotalSeconds,6:F1} s   CPU {Cpu() - cpu,6:F1} s   (a sample: {sample!["endpoint"]}, owner {sample["labels"]!["owner"]})");

        var latencies = new List<double>();
        for (var i = 0; i < Events; i++)
        {
            var name = $"late-{i}";
            var watchClock = Stopwatch.StartNew();
            kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("late", name, $"http://127.0.0.1:9/late/{i}", verified: true));
            while ((await http.GetAsync($"/api/servers/kube.late.{name}")).StatusCode != HttpStatusCode.OK)
            {
                if (watchClock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"watch event {i} not reflected after 30 s");
                await Task.Delay(5);
            }
            latencies.Add(watchClock.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        Console.WriteLine($"a watch event to the API ({Events} events)  p50 {latencies[Events / 2],6:F0} ms   max {latencies[^1],6:F0} ms");
    }
}
