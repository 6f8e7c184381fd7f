using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Monitoring.Tests.Support;

/// <summary>
/// Configuration as code at fleet size, on the production shape (silos on PostgreSQL and Redis, the API as a client):
/// plan and apply of one document of N servers and N/100 rules, then the same document again (no change), then a
/// change to a tenth of the servers, each timed, with the CPU of the silos and the API and PostgreSQL.
/// </summary>
public static class ConfigApply
{
    public static async Task RunAsync(string[] args)
    {
        var servers = args.SkipWhile(a => a != "--servers").Skip(1).Select(int.Parse).DefaultIfEmpty(10_000).First();
        var silos = args.SkipWhile(a => a != "--silos").Skip(1).Select(int.Parse).DefaultIfEmpty(1).First();
        Console.WriteLine($"{Environment.ProcessorCount} cores; production shape on loopback (PostgreSQL, Redis, {silos} silo process(es), the API as a client); a document of {servers} servers and {servers / 100} rules");
        await using var cluster = await ProcessCluster.StartAsync(silos, 400, null);
        using var http = new HttpClient { BaseAddress = cluster.Http.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = cluster.Http.DefaultRequestHeaders.Authorization;
        double Cpu() => cluster.Silos.Select(s => s.Process.Id).Append(cluster.Api!.Process.Id).Sum(BenchHost.CpuSeconds) + BenchHost.CpuSecondsOfAll("postgres");

        var document = Document(servers, "0.05");
        await StepAsync("plan, all new", "/api/config/plan", document);
        await StepAsync("apply, all new", "/api/config/apply", document);
        await StepAsync("plan, no change", "/api/config/plan", document);
        await StepAsync("apply, no change", "/api/config/apply", document);
        var changed = Document(servers, "0.05");
        foreach (var server in changed["servers"]!.AsArray().Take(servers / 10)) server!["labels"]!["tier"] = "platinum";
        await StepAsync($"plan, {servers / 10} servers changed", "/api/config/plan", changed);
        await StepAsync($"apply, {servers / 10} servers changed", "/api/config/apply", changed);

        async Task StepAsync(string what, string url, JsonObject body)
        {
            var cpu = Cpu();
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsJsonAsync(url, body);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {text[..Math.Min(2000, text.Length)]}");
            var summary = JsonNode.Parse(text)!["summary"]!;
            Console.WriteLine($"{what,-32} {clock.Elapsed.TotalSeconds,6:F1} s   CPU {Cpu() - cpu,6:F1} s   {summary["create"]} create, {summary["update"]} update, {summary["unchanged"]} unchanged");
        }
    }

    private static JsonObject Document(int servers, string threshold) => new()
    {
        ["namespace"] = "fleet",
        ["channels"] = new JsonArray(new JsonObject { ["id"] = "fleet-hook", ["type"] = "webhook", ["config"] = new JsonObject { ["url"] = "http://127.0.0.1:9/hook" } }),
        ["servers"] = new JsonArray([.. Enumerable.Range(0, servers).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = $"fleet-{i}", ["name"] = $"Fleet server {i}", ["endpoint"] = $"http://127.0.0.1:9/mcp/{i}",
            ["labels"] = new JsonObject { ["team"] = $"team-{i % 100}", ["tier"] = "gold" },
            ["probe"] = new JsonObject { ["enabled"] = false },
        })]),
        ["rules"] = new JsonArray([.. Enumerable.Range(0, servers / 100).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = $"fleet-rule-{i}", ["name"] = $"Errors of team {i}", ["condition"] = $"error_rate > {threshold}",
            ["selector"] = new JsonObject { ["team"] = $"team-{i}" }, ["channels"] = new JsonArray("fleet-hook"),
        })]),
    };
}
