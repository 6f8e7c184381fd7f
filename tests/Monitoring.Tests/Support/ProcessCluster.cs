using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Monitoring.Tests.Support;

/// <summary>
/// The production shape on loopback, as real processes: silos (src/Silo) and the API (src/Api) as an Orleans client,
/// sharing a Redis and a PostgreSQL that the fixture starts. Built by `dotnet test Monitoring.sln`, run with
/// `dotnet &lt;dll&gt;`. Each run gets its own ServiceId, ClusterId and schema.
/// Membership is the product's tuned default (1 s probe timeout, 2 missed probes); the tests lower the reminder
/// period to 5 s (Monitoring:ReminderPeriod) so work left by a dead silo resumes within seconds.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly List<ClusterProcess> _silos = [];
    private readonly RedisServer _redis;
    private readonly PostgresServer _postgres;
    private ClusterProcess? _api;
    private (string, string)[] _extra = [];

    /// <summary>The silo build new silo processes run (this build's unless a drill says otherwise, as an upgrade does).</summary>
    public string SiloDll { get; set; } = Repository.Dll("Silo");

    private ProcessCluster(RedisServer redis, PostgresServer postgres)
    {
        _redis = redis;
        _postgres = postgres;
    }

    public string ServiceId { get; } = "svc-" + Guid.NewGuid().ToString("N")[..8];
    public string ClusterId { get; } = "cl-" + Guid.NewGuid().ToString("N")[..8];
    public string Schema { get; } = "s_" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The admin key the tests use: production demands keys. Configured as its hash, as an operator would.</summary>
    public const string AdminKey = "mcpk_0123456789ab_process-cluster-admin-key";
    public HttpClient Http { get; private set; } = null!;

    public string PostgresConnectionString => _postgres.ConnectionString();

    /// <summary>The cluster's Redis, for drills that crash it and start it again.</summary>
    public RedisServer Redis => _redis;

    /// <summary>The cluster's PostgreSQL, for drills that crash it and start it again.</summary>
    public PostgresServer Postgres => _postgres;
    public IReadOnlyList<ClusterProcess> Silos => _silos;

    /// <summary>The API process (an Orleans client), once started.</summary>
    public ClusterProcess? Api => _api;

    /// <param name="seed">Runs against the empty PostgreSQL before any process starts (the connection string and the schema).</param>
    public static Task<ProcessCluster> StartAsync(int silos, Func<string, string, Task>? seed = null, params (string Name, string Value)[] environment) =>
        StartAsync(silos, 200, seed, environment);

    public static Task<ProcessCluster> StartAsync(int silos, int postgresMaxConnections, Func<string, string, Task>? seed, params (string Name, string Value)[] environment) =>
        StartAsync(silos, postgresMaxConnections, seed, null, environment);

    /// <param name="siloDll">The silo build to start (<see cref="SiloDll"/>), e.g. the previous release's.</param>
    public static async Task<ProcessCluster> StartAsync(int silos, int postgresMaxConnections, Func<string, string, Task>? seed, string? siloDll, params (string Name, string Value)[] environment)
    {
        var redis = await RedisServer.StartAsync();
        var postgres = await PostgresServer.StartAsync(postgresMaxConnections);
        var cluster = new ProcessCluster(redis, postgres) { _extra = environment };
        if (siloDll is not null) cluster.SiloDll = siloDll;
        try
        {
            if (seed is not null) await seed(cluster.PostgresConnectionString, cluster.Schema);
            await cluster.StartProcessesAsync(silos);
            return cluster;
        }
        catch
        {
            // The caller never gets the cluster to dispose: stop what started, or it runs on and loads every test after.
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task StartProcessesAsync(int silos)
    {
        _silos.Clear();
        for (var i = 0; i < silos; i++) _silos.Add(StartSilo(i));
        for (var attempt = 1; ; attempt++)
        {
            // A free port can be taken by another test's process between choosing it and binding it: choose again.
            var port = LocalPorts.Free();
            _api = ClusterProcess.Start("api", Repository.Dll("Api"), Environment(), "--urls", $"http://127.0.0.1:{port}");
            Http?.Dispose();
            Http = new HttpClient(new ServerErrorDiagnostics(() => Diagnostics())) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
            try
            {
                await WaitForMembershipAsync(silos => _silos.All(p => silos.Any(s => s.Port == p.SiloPort && s.Status == "active")), "every silo active",
                    TimeSpan.FromSeconds(90), startedHere: true);
                return;
            }
            catch (TimeoutException) when (attempt < 3 && _silos.Append(_api).Any(ExitedAtStart))
            {
                // The API is started again on a new port by the loop; a silo that exited is started again here.
                for (var i = 0; i < _silos.Count; i++)
                {
                    if (!ExitedAtStart(_silos[i])) continue;
                    System.Console.Error.WriteLine($"ProcessCluster: {_silos[i].Name} exited before the cluster formed; started again. Its last lines:\n{_silos[i].Tail()}");
                    _silos[i] = StartSilo(i);
                }
                if (!_api.Process.HasExited) _api.Kill();
            }
        }
    }

    /// <summary>
    /// A process that exited before the cluster formed: its port taken by another test's process between choosing and
    /// binding it, or Orleans' own start failing (seen once under load: its cluster health monitor, disposed while it
    /// started, failed the process fast). Either is the harness's to start again, up to three times.
    /// </summary>
    private static bool ExitedAtStart(ClusterProcess process) => process.Process.HasExited;

    /// <summary>Starts a new silo process in the place of silo <paramref name="index"/> (after it stopped), as a rollout does.</summary>
    public void ReplaceSilo(int index) => _silos[index] = StartSilo(index);

    public ClusterProcess StartSilo(int index)
    {
        var siloPort = LocalPorts.Free();
        var gatewayPort = LocalPorts.Free();
        var httpPort = LocalPorts.Free();
        return ClusterProcess.Start($"silo{index}", SiloDll, Environment(("Orleans__SiloPort", siloPort.ToString()), ("Orleans__GatewayPort", gatewayPort.ToString())),
            "--urls", $"http://127.0.0.1:{httpPort}") with { SiloPort = siloPort, HttpPort = httpPort };
    }

    /// <summary>Waits until the API answers and every silo this cluster started last is active in the membership.</summary>
    public Task WaitForActiveSilosAsync(TimeSpan timeout) =>
        WaitForMembershipAsync(silos => _silos.All(p => silos.Any(s => s.Port == p.SiloPort && s.Status == "active")), "every silo active", timeout);

    /// <summary>Waits until the membership says this silo is dead.</summary>
    public Task WaitForDeadAsync(ClusterProcess silo, TimeSpan timeout) =>
        WaitForMembershipAsync(silos => silos.Any(s => s.Port == silo.SiloPort && s.Status == "dead"), $"{silo.Name} declared dead", timeout);

    /// <param name="startedHere">Every silo was just started: one that exited will not become active, so waiting stops at once.</param>
    private async Task WaitForMembershipAsync(Func<(int Port, string Status)[], bool> condition, string what, TimeSpan timeout, bool startedHere = false)
    {
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                if (_api?.Process.HasExited == true) throw new TimeoutException("the API process exited");
                if (startedHere && _silos.FirstOrDefault(s => s.Process.HasExited) is { } exited) throw new TimeoutException($"{exited.Name} exited");
                try
                {
                    var body = await Http.GetFromJsonAsync<JsonElement>("/api/cluster");
                    return condition([.. body.GetProperty("silos").EnumerateArray().Select(s =>
                        (int.Parse(s.GetProperty("address").GetString()!.Split(':')[1]), s.GetProperty("status").GetString()!))]);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                    return false;
                }
            }, what, timeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + Diagnostics(), e);
        }
    }

    public string Diagnostics() => string.Concat(_silos.Append(_api).OfType<ClusterProcess>().Select(p => $"\n--- {p.Name} (exited: {p.Process.HasExited}):\n{p.Tail()}"));

    /// <summary>Stops every process at once, as a power cut would (kill -9), keeping Redis and PostgreSQL.</summary>
    public async Task KillAllAsync()
    {
        foreach (var process in _silos.Append(_api).OfType<ClusterProcess>()) process.Kill();
        foreach (var process in _silos.Append(_api).OfType<ClusterProcess>()) await process.Process.WaitForExitAsync();
    }

    private (string, string)[] Environment(params (string, string)[] extra) =>
    [
        ("ConnectionStrings__Redis", _redis.ConnectionString),
        ("ConnectionStrings__Postgres", _postgres.ConnectionString()),
        ("Postgres__Schema", Schema),
        ("Orleans__ServiceId", ServiceId),
        ("Orleans__ClusterId", ClusterId),
        ("Monitoring__ReminderPeriod", "00:00:05"),
        ("Outbound__AllowLoopback", "true"), // the tests' receivers listen on loopback
        ("Auth__Keys__0__Name", "tests"),
        ("Auth__Keys__0__Role", "Admin"),
        ("Auth__Keys__0__Hash", Monitoring.Security.KeyMaterial.Hash(AdminKey)),
        ("Auth__RequestsPerMinute", "1000000"), // storms from one key are the drills' point, not the per-key limit
        ("Logging__LogLevel__Default", "Warning"),
        .. _extra,
        .. extra,
    ];

    public async ValueTask DisposeAsync()
    {
        await KillAllAsync();
        Http?.Dispose();
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}

/// <summary>One silo or API process, with the last lines it wrote, for diagnostics.</summary>
public sealed record ClusterProcess(string Name, Process Process, ConcurrentQueue<string> Output)
{
    public int SiloPort { get; init; }

    /// <summary>The first 2,000 lines the process wrote.</summary>
    public ConcurrentQueue<string> FirstLines { get; init; } = new();

    /// <summary>SIGINT, as Ctrl-C sends it.</summary>
    public void Interrupt()
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-INT", Process.Id.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>Where a silo serves /metrics and /health.</summary>
    public int HttpPort { get; init; }

    /// <summary>
    /// Whether product processes start with the runtime's quick first compile (<c>DOTNET_TC_QuickJit=1</c>). The
    /// product turns it off, so a storm soon after a start runs optimized code (docs/benchmarks.md); that costs each
    /// start about 3 s of CPU (an embedded API ready after 6.0 s instead of 3.9 s here), and the suite starts about a
    /// hundred product processes. The compiler's tier changes no behaviour. The benchmarks keep the product's own setting.
    /// </summary>
    public static bool QuickStart { get; set; } = true;

    public static ClusterProcess Start(string name, string dll, (string Name, string Value)[] environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        if (QuickStart) start.Environment["DOTNET_TC_QuickJit"] = "1";
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var output = new ConcurrentQueue<string>();
        var first = new ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (line is null) return;
            if (first.Count < 2000) first.Enqueue(line);
            output.Enqueue(line);
            while (output.Count > 200) output.TryDequeue(out _);
        }
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ClusterProcess(name, process, output) { FirstLines = first };
    }

    public string Tail() => string.Join('\n', Output.TakeLast(30));

    /// <summary>SIGTERM, as Kubernetes sends it: the process shuts down gracefully.</summary>
    public void Terminate()
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Process.Id.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>kill -9: no shutdown, no hand-off.</summary>
    public void Kill()
    {
        try
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }
}

/// <summary>
/// A 500 from a process under test is a bug whose cause is in that process's log, not in the answer: the answer's body
/// gets the processes' last lines, so the assertion that prints it says why.
/// </summary>
public sealed class ServerErrorDiagnostics(Func<string> diagnostics) : DelegatingHandler(new HttpClientHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode < 500 || response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable) return response;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var content = new StringContent(body + "\n--- the processes' last lines:" + diagnostics());
        foreach (var header in response.Content.Headers) content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        content.Headers.ContentLength = null;
        response.Content = content;
        return response;
    }
}
