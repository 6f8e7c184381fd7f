using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Monitoring.Tests.Support;

/// <summary>
/// A real redis-server on 127.0.0.1 (Debian's redis-server), started by the tests with AOF on, in a temp directory.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private Process _process;

    private RedisServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("mcp-alerting-redis-").FullName;
        var port = LocalPorts.Free();
        var process = Launch(directory, port);
        await LocalPorts.WaitUntilListeningAsync(port, process, "redis-server");
        return new RedisServer(process, directory, port);
    }

    private static Process Launch(string directory, int port) =>
        LocalProcesses.Start(LocalProcesses.Find("redis-server", "/usr/bin/redis-server"),
            "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes", "--save", "", "--protected-mode", "no");

    /// <summary>Kills it (SIGKILL): every connection cut at once; what its append-only file holds comes back with <see cref="StartAgainAsync"/>.</summary>
    public async Task CrashAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Starts it again on the same port and directory, after <see cref="CrashAsync"/>.</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _process = Launch(_directory, Port);
        await LocalPorts.WaitUntilListeningAsync(Port, _process, "redis-server");
    }

    public async ValueTask DisposeAsync()
    {
        await LocalProcesses.StopAsync(_process);
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A real PostgreSQL server on 127.0.0.1 (Debian's postgresql): a fresh cluster from initdb in a temp directory,
/// trust authentication on loopback, run as the postgres user when the tests run as root.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;
    private readonly int _maxConnections;
    private Process _process;

    private PostgresServer(Process process, string bin, string directory, int port, int maxConnections)
    {
        _process = process;
        _bin = bin;
        _directory = directory;
        Port = port;
        _maxConnections = maxConnections;
    }

    public int Port { get; }

    private string Data => Path.Combine(_directory, "data");

    private static bool AsRoot => Environment.UserName == "root";

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Maximum Pool Size=20";

    private static string Bin() => Environment.GetEnvironmentVariable("PG_BIN")
        ?? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d).Select(d => Path.Combine(d, "bin"))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
        ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install postgresql)");

    public static async Task<PostgresServer> StartAsync(int maxConnections = 200)
    {
        var bin = Bin();
        var directory = Directory.CreateTempSubdirectory("mcp-alerting-pg-").FullName;
        var data = Path.Combine(directory, "data");
        if (AsRoot)
        {
            await LocalProcesses.RunAsync("chown", "postgres:postgres", directory);
        }
        await LocalProcesses.RunAsync(AsRoot ? "runuser" : Path.Combine(bin, "initdb"),
            [.. (AsRoot ? new[] { "-u", "postgres", "--", Path.Combine(bin, "initdb") } : []), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
        for (var attempt = 1; ; attempt++)
        {
            // A free port can be taken by another test's PostgreSQL between choosing it and binding it; the one that
            // answers must be this one (its data directory), or this test would share, and lose, another's database.
            var port = LocalPorts.Free();
            var process = Launch(bin, directory, port, maxConnections);
            await LocalPorts.WaitUntilListeningAsync(port, process, "postgres");
            var server = new PostgresServer(process, bin, directory, port, maxConnections);
            await server.WaitUntilAcceptingAsync();
            if (await server.DataDirectoryAsync() == data) return server;
            await LocalProcesses.StopAsync(process);
            if (attempt == 3) throw new InvalidOperationException($"port {port}: another PostgreSQL answered, three times");
        }
    }

    private static Process Launch(string bin, string directory, int port, int maxConnections)
    {
        string[] postgres = [Path.Combine(bin, "postgres"), "-D", Path.Combine(directory, "data"), "-p", port.ToString(), "-k", directory, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", $"max_connections={maxConnections}", "-c", "shared_preload_libraries=pg_stat_statements"];
        return AsRoot ? LocalProcesses.Start("runuser", ["-u", "postgres", "--", .. postgres]) : LocalProcesses.Start(postgres[0], postgres[1..]);
    }

    /// <summary>
    /// Stops PostgreSQL as a crash does: an immediate shutdown (<c>pg_ctl stop -m immediate</c>), every session cut, no
    /// checkpoint; the next start recovers from the write-ahead log.
    /// </summary>
    public async Task CrashAsync()
    {
        string[] stop = [Path.Combine(_bin, "pg_ctl"), "stop", "-D", Data, "-m", "immediate", "-w"];
        await LocalProcesses.RunAsync(AsRoot ? "runuser" : stop[0], AsRoot ? ["-u", "postgres", "--", .. stop] : stop[1..]);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// <c>pg_dump</c> of one schema of the running server, in plain SQL, as an operator's nightly backup takes it (a
    /// consistent snapshot while the cluster writes); answers the file, in this server's directory.
    /// </summary>
    public async Task<string> DumpAsync(string schema)
    {
        var file = Path.Combine(_directory, $"backup-{schema}.sql");
        string[] dump = [Path.Combine(_bin, "pg_dump"), "-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "-d", "postgres", "-n", schema, "--no-owner", "-f", file];
        await LocalProcesses.RunAsync(AsRoot ? "runuser" : dump[0], AsRoot ? ["-u", "postgres", "--", .. dump] : dump[1..]);
        return file;
    }

    /// <summary>
    /// Restores a plain-SQL dump with <c>psql</c> into the postgres database of the server on <paramref name="port"/>,
    /// stopping at the first error (a drill's seed runs it before the cluster's processes start).
    /// </summary>
    public static async Task RestoreAsync(int port, string file)
    {
        var folder = Directory.CreateTempSubdirectory("mcp-alerting-restore-").FullName;
        var copy = Path.Combine(folder, Path.GetFileName(file));
        File.Copy(file, copy);
        await LocalProcesses.RunAsync("chmod", "-R", "a+rX", folder); // psql runs as postgres
        string[] restore = [Path.Combine(Bin(), "psql"), "-h", "127.0.0.1", "-p", port.ToString(), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-f", copy];
        try
        {
            await LocalProcesses.RunAsync(AsRoot ? "runuser" : restore[0], AsRoot ? ["-u", "postgres", "--", .. restore] : restore[1..]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Starts it again on the same port and data, after <see cref="CrashAsync"/>; answers once it accepts sessions.</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _process = Launch(_bin, _directory, Port, _maxConnections);
        await LocalPorts.WaitUntilListeningAsync(Port, _process, "postgres");
        await WaitUntilAcceptingAsync();
    }

    private async Task<string?> DataDirectoryAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false");
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT current_setting('data_directory')", connection);
        return (string?)await command.ExecuteScalarAsync();
    }

    /// <summary>Listening is not ready: until recovery ends PostgreSQL refuses sessions with 57P03 ("starting up").</summary>
    private async Task WaitUntilAcceptingAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var connectionString = $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";
        while (true)
        {
            try
            {
                await using var connection = new Npgsql.NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                return;
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == "57P03" && DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await LocalProcesses.StopAsync(_process);
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class LocalPorts
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitUntilListeningAsync(int port, Process process, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited with {process.ExitCode}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"{what} did not listen on port {port}");
    }
}

public static class LocalProcesses
{
    public static string Find(string name, string fallback) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
        ?? (File.Exists(fallback) ? fallback : throw new InvalidOperationException($"{name} is not installed (apt-get install {name})"));

    public static Process Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }

    public static async Task StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
        process.Dispose();
    }
}
