using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Monitoring.Tests.Support;

/// <summary>
/// The production shape on loopback, as real processes: silos on PostgreSQL with Redis membership, the API as a client
/// (the tests' harness starts them). For each silo count: registers the fleet in bulk, storms it (one breaching push
/// per server, 64 in flight, each alert its own webhook message), optionally kills a silo a third of the way in (the
/// reminder period then 5 s instead of production's minute, so the dead silo's grains come back within the run), then
/// runs the telemetry paths. Prints registration time, accepted pushes/s, push latency, time until every alert was
/// notified, alerts lost or falsely resolved, and the product's CPU.
///   dotnet run -c Release --project tests/Monitoring.Benchmarks -- --production [--silos 1,2,3] [--servers 10000] [--kill] [--seconds 10] [--settle 120]
/// </summary>
public static class ProductionStorm
{
    public static async Task RunAsync(string[] args)
    {
        var siloCounts = args.SkipWhile(a => a != "--silos").Skip(1).DefaultIfEmpty("3").First().Split(',').Select(int.Parse).ToArray();
        var servers = TelemetryThroughput.Arg(args, "--servers", 10_000);
        var seconds = TelemetryThroughput.Arg(args, "--seconds", 10);
        var kill = args.Contains("--kill");
        var settle = TimeSpan.FromSeconds(TelemetryThroughput.Arg(args, "--settle", 120));
        Console.WriteLine($"{Environment.ProcessorCount} cores; production shape on loopback (PostgreSQL, Redis, silo processes, the API as a client); {servers} servers; silos {string.Join(", ", siloCounts)}{(kill ? "; one silo killed a third of the way into the storm" : "")}");

        var arrivals = new ConcurrentDictionary<string, long>();
        var (receiver, hookUrl) = await BenchHost.StartFiringReceiverAsync(arrivals);
        var rows = new List<string>();
        try
        {
            foreach (var silos in siloCounts)
            {
                arrivals.Clear();
                rows.Add(await RunOnceAsync(silos, servers, seconds, kill, settle, hookUrl, arrivals));
            }
        }
        finally
        {
            await receiver.StopAsync();
        }
        Console.WriteLine();
        Console.WriteLine($"| silos | register {servers:N0} (bulk) | storm: accepted pushes/s | push p50 | push p99 | last push → all notified | alerts firing / notified / lost / falsely resolved | retried pushes | product CPU in the storm (cores) | CPU per breach, ms: product / PostgreSQL / Redis / all | silo memory per server: full windows / with an open alert (highest over the settle time) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows) Console.WriteLine(row);
    }

    private static async Task<string> RunOnceAsync(int silos, int servers, int seconds, bool kill, TimeSpan settle, string hookUrl, ConcurrentDictionary<string, long> arrivals)
    {
        // The production reminder period (1 minute), unless a silo is killed: then 5 s, so its grains come back within the run.
        await using var cluster = await ProcessCluster.StartAsync(silos, 400, null,
            ("Notifications__ClusterRatePerSecond", "0"), ("Monitoring__ReminderPeriod", kill ? "00:00:05" : "00:01:00"));
        using var http = new HttpClient { BaseAddress = cluster.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = cluster.Http.DefaultRequestHeaders.Authorization;
        long SiloRss() => cluster.Silos.Sum(s => BenchHost.RssBytes(s.Process.Id));
        // A killed silo's CPU counts up to its death: the last figure read for it stands.
        var cpuSeen = new ConcurrentDictionary<int, double>();
        double Cpu() => cluster.Silos.Select(s => s.Process.Id).Append(cluster.Api!.Process.Id).Sum(pid =>
        {
            try { return cpuSeen[pid] = BenchHost.CpuSeconds(pid); }
            catch (IOException) { return cpuSeen.GetValueOrDefault(pid); }
        });
        Console.WriteLine();
        Console.WriteLine($"## {silos} silo(s)");

        await BenchHost.PostAsync(http, "/api/channels", new { id = "bench", type = "webhook", config = new { url = hookUrl } });
        await BenchHost.PostAsync(http, "/api/rules", new
        {
            id = "storm", name = "Shared dependency down", condition = "error_rate > 0.05", severity = "critical", channels = new[] { "bench" },
            escalateAfter = "off", selector = new Dictionary<string, string> { ["fleet"] = "1" },
        });
        await ExecuteAsync(cluster, "create extension if not exists pg_stat_statements; select pg_stat_statements_reset()");
        var beforeRegistration = await PgStatsAsync(cluster);
        var rssBefore = SiloRss();
        // Resident memory right after a phase flatters: the servers keep evaluating every 15 s and the collector lets
        // what that leaves accumulate before it runs. The highest figure over the settle time is the one to plan by.
        async Task<(long Now, long Peak)> RssAsync(long? right = null)
        {
            var first = right ?? SiloRss();
            var peak = Math.Max(first, SiloRss());
            for (var waited = TimeSpan.Zero; waited < settle; waited += TimeSpan.FromSeconds(15))
            {
                await Task.Delay(TimeSpan.FromSeconds(15));
                peak = Math.Max(peak, SiloRss());
            }
            return (first, peak);
        }
        string PerServer(long rss) => $"{(rss - rssBefore) / (double)servers / 1024:F1}";
        string Rss((long Now, long Peak) rss) => settle > TimeSpan.Zero ? $"{PerServer(rss.Now)} ({PerServer(rss.Peak)})" : PerServer(rss.Now);
        var registering = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, servers).Chunk(1000), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (chunk, _) =>
                await BenchHost.PostAsync(http, "/api/servers/bulk", new
                {
                    servers = chunk.Select(i => new
                    {
                        id = $"t-{i}", name = $"T {i}", endpoint = $"http://127.0.0.1:1/{i}",
                        labels = new Dictionary<string, string> { ["fleet"] = "1" }, probe = new { enabled = false },
                    }),
                }));
        }
        catch (InvalidOperationException)
        {
            foreach (var process in cluster.Silos.Append(cluster.Api!)) Console.WriteLine($"--- {process.Name}:\n{process.Tail()}");
            throw;
        }
        var registered = registering.Elapsed;
        var afterRegistration = await PgStatsAsync(cluster);
        await PrintStatementsAsync(cluster, "per registered server", servers, reset: true);
        Console.WriteLine($"registered {servers:N0} servers in {registered.TotalSeconds:F1} s ({servers / registered.TotalSeconds:N0}/s); PostgreSQL per server: {Per(afterRegistration, beforeRegistration, servers)}");

        // Healthy traffic over the last 5 minutes, so every server's window is full before the storm; the silos'
        // resident memory then, and again with one open alert each after the storm, is what a server costs them.
        await Parallel.ForEachAsync(Enumerable.Range(0, servers).Chunk(100), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (chunk, _) =>
            await BenchHost.PostAsync(http, "/api/telemetry", new
            {
                servers = chunk.Select(i => new { serverId = $"t-{i}", telemetry = BenchHost.FullWindow(DateTimeOffset.UtcNow) }),
            }));
        var rssWindows = await RssAsync();

        // The storm: every server pushes one breaching batch; a push refused during a failover (503) or cut off is sent again.
        var breach = BenchHost.Breach(20);
        var latencies = new ConcurrentBag<double>();
        long retried = 0, accepted = 0;
        var cpuBefore = Cpu();
        var (postgresBefore, redisBefore) = (BenchHost.CpuSecondsOfAll("postgres"), BenchHost.CpuSecondsOfAll("redis-server"));
        var beforeStorm = await PgStatsAsync(cluster);
        var tablesBefore = await PgTablesAsync(cluster);
        var stormStarted = DateTime.UtcNow;
        var storm = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, servers), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            for (var attempt = 0; ; attempt++)
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.PostAsync($"/api/servers/t-{i}/telemetry", breach());
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                        break;
                    }
                    if (attempt > 50) throw new InvalidOperationException($"t-{i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && attempt <= 50)
                {
                }
                Interlocked.Increment(ref retried);
                await Task.Delay(200);
            }
            if (Interlocked.Increment(ref accepted) == servers / 3 && kill && cluster.Silos.Count > 1)
            {
                var victim = cluster.Silos[^1];
                victim.Kill();
                Console.WriteLine($"killed {victim.Name} after {accepted:N0} accepted pushes ({storm.Elapsed.TotalSeconds:F1} s into the storm)");
            }
        });
        var pushed = storm.Elapsed;
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (arrivals.Count < servers && DateTime.UtcNow < deadline) await Task.Delay(20);
        var notified = storm.Elapsed;
        var productCpu = Cpu() - cpuBefore;
        var cpu = productCpu / notified.TotalSeconds;
        // Every process the storm ran on: the silos and the API, and this run's PostgreSQL (its postmaster with the
        // backends it reaped) and Redis, the only ones of their names on the machine while the benchmark runs.
        var (postgresCpu, redisCpu) = (BenchHost.CpuSecondsOfAll("postgres") - postgresBefore, BenchHost.CpuSecondsOfAll("redis-server") - redisBefore);
        string Ms(double seconds) => $"{seconds * 1000 / servers:F2}";
        var perBreach = $"{Ms(productCpu)} / {Ms(postgresCpu)} / {Ms(redisCpu)} / {Ms(productCpu + postgresCpu + redisCpu)}";
        Console.WriteLine($"CPU per breach, push to notified (ms): product {Ms(productCpu)}, PostgreSQL {Ms(postgresCpu)}, Redis {Ms(redisCpu)}, all {Ms(productCpu + postgresCpu + redisCpu)}");
        var killed = kill && silos > 1;
        var rssRight = SiloRss();
        await Task.Delay(1500); // PostgreSQL publishes its statistics within a second
        var afterStorm = await PgStatsAsync(cluster);
        var tablesAfter = await PgTablesAsync(cluster);
        await PrintStatementsAsync(cluster, "per breach", servers, reset: false);
        PrintTables("PostgreSQL per breach", tablesBefore, tablesAfter, servers);
        await PrintGrainRowsAsync(cluster, stormStarted, servers);

        // The alerts then stay open through the settle time, with their servers evaluating: none may resolve.
        var rssAlerting = killed ? ((long, long)?)null : await RssAsync(rssRight);
        if (settle > TimeSpan.Zero && !killed)
        {
            await Task.Delay(1500);
            Console.WriteLine($"PostgreSQL at rest with every alert open, per server over {settle.TotalSeconds:F0} s: {Per(await PgStatsAsync(cluster), afterStorm, servers)}");
        }
        var memory = $"{Rss(rssWindows)} / {(rssAlerting is { } a ? Rss(a) : "(a silo was killed)")} KiB";
        Console.WriteLine($"silo resident memory growth per server (all silos): {memory} (full windows / and one open alert each" +
            $"{(settle > TimeSpan.Zero ? $"; right after, and in brackets the highest over the next {settle.TotalSeconds:F0} s of evaluations" : "")})");
        var firing = (await http.GetFromJsonAsync<JsonElement>("/api/alerts?status=firing&limit=1")).GetProperty("total").GetInt32();
        // Nothing healthy is sent after the storm: every resolved alert is a false one.
        var resolved = (await http.GetFromJsonAsync<JsonElement>("/api/alerts?status=resolved&limit=1")).GetProperty("total").GetInt32();
        var sorted = latencies.Order().ToArray();
        double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine($"storm: {servers:N0} pushes accepted in {pushed.TotalSeconds:F1} s ({servers / pushed.TotalSeconds:N0}/s), p50 {P(0.5):F0} ms, p99 {P(0.99):F0} ms; " +
            $"{arrivals.Count:N0} notified {(notified - pushed).TotalSeconds:F1} s after the last push; {firing:N0} firing; {resolved:N0} resolved (falsely: no healthy data was sent); {retried} pushes retried; PostgreSQL per breach: {Per(afterStorm, beforeStorm, servers)}");
        Console.WriteLine();
        await TelemetryThroughput.RunPathsAsync(http, servers, seconds, Cpu);
        var lost = servers - arrivals.Count;
        return $"| {silos} | {registered.TotalSeconds:F1} s | {servers / pushed.TotalSeconds:N0} | {P(0.5):F0} ms | {P(0.99):F0} ms | {(notified - pushed).TotalSeconds:F1} s | {firing:N0} / {arrivals.Count:N0} / {lost} / {resolved:N0} | {retried} | {cpu:F2} | {perBreach} | {memory} |";
    }

    internal static async Task ExecuteAsync(ProcessCluster cluster, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The product's statements since the last reset, in calls per unit of work (pg_stat_statements; the harness preloads it).</summary>
    internal static async Task PrintStatementsAsync(ProcessCluster cluster, string unit, int count, bool reset)
    {
        await using (var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(
                "select calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) from pg_stat_statements where query not like '%pg_stat%' order by calls desc limit 12", connection);
            await using var reader = await command.ExecuteReaderAsync();
            Console.WriteLine($"PostgreSQL statements {unit} (calls, mean execution time):");
            while (await reader.ReadAsync())
            {
                if (reader.GetInt64(0) >= count / 20)
                {
                    Console.WriteLine($"  {reader.GetInt64(0) / (double)count,5:F2}  {reader.GetDouble(1) * 1000 / reader.GetInt64(0),6:F0} µs  {reader.GetString(2)}");
                }
            }
        }
        if (reset) await ExecuteAsync(cluster, "select pg_stat_statements_reset()");
    }

    /// <summary>Grain states by type: rows, and writes per row so far (each write adds one to a row's version).</summary>
    internal static async Task PrintStateWritesAsync(ProcessCluster cluster)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            $"select grain_type || '/' || state_name, count(*), sum(version), sum(length(payload::text)) from \"{cluster.Schema}\".grain_state group by 1 order by 3 desc limit 10", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Console.WriteLine("grain states (type/state: rows, writes so far, bytes stored):");
        while (await reader.ReadAsync()) Console.WriteLine($"  {reader.GetString(0),-40} {reader.GetInt64(1),8:N0} {reader.GetInt64(2),10:N0} {reader.GetInt64(3),12:N0}");
    }

    /// <summary>Transactions committed and rows written so far in the cluster's database.</summary>
    internal static async Task<long[]> PgStatsAsync(ProcessCluster cluster)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select xact_commit, tup_inserted, tup_updated, tup_deleted from pg_stat_database where datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return [reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)];
    }

    internal static void PrintTables(string what, Dictionary<string, long[]> tablesBefore, Dictionary<string, long[]> tablesAfter, int count)
    {
        Console.WriteLine($"{what}, by table (rows inserted / updated / deleted, scans):");
        foreach (var (table, after) in tablesAfter)
        {
            var before = tablesBefore.GetValueOrDefault(table, new long[4]);
            var delta = after.Zip(before, (a, b) => (a - b) / (double)count).ToArray();
            if (delta.Any(d => d >= 0.05)) Console.WriteLine($"  {table,-40} {delta[0],5:F2} / {delta[1],5:F2} / {delta[2],5:F2}, {delta[3],5:F2} scans");
        }
    }

    internal static async Task<Dictionary<string, long[]>> PgTablesAsync(ProcessCluster cluster)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "select schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_user_tables", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new Dictionary<string, long[]>();
        while (await reader.ReadAsync()) tables[reader.GetString(0)] = [reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)];
        return tables;
    }

    /// <summary>Which grains' rows the storm wrote (created or changed since it began), by grain type and state, per breach.</summary>
    private static async Task PrintGrainRowsAsync(ProcessCluster cluster, DateTime since, int breaches)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            $"select grain_type || '/' || state_name, count(*) from {cluster.Schema}.grain_state where updated_at >= $1 group by 1 order by 2 desc", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = since });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync()) rows.Add($"{reader.GetString(0)} {reader.GetInt64(1) / (double)breaches:F2}");
        Console.WriteLine($"grain rows written in the storm, per breach (type/state): {string.Join(", ", rows)}");
    }

    internal static string Per(long[] after, long[] before, int count) =>
        $"{(after[0] - before[0]) / (double)count:F1} commits, {(after[1] - before[1]) / (double)count:F1} rows inserted, {(after[2] - before[2]) / (double)count:F1} updated, {(after[3] - before[3]) / (double)count:F1} deleted";

}
