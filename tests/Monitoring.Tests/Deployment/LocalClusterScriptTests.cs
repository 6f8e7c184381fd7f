using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Deployment;

/// <summary>
/// scripts/local-cluster.sh as a person runs it in a terminal: started in a process group of its own, stopped by a
/// SIGINT to the whole group, as Ctrl-C sends it. The stores must outlive the silos' graceful shutdown.
/// </summary>
public sealed class LocalClusterScriptTests
{
    [Fact]
    public async Task Ctrl_c_stops_the_api_and_the_silo_first_quickly_and_with_a_clean_log()
    {
        var configuration = Repository.Dll("Api").Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        Repository.Dll("Silo");
        var work = Directory.CreateTempSubdirectory("local-cluster-").FullName;
        // As root, PostgreSQL runs as the postgres user, which must reach its data directory.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        var ports = Enumerable.Range(0, 6).Select(_ => FreePort()).ToArray();
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "bash", "scripts/local-cluster.sh", "1" }) start.ArgumentList.Add(arg);
        foreach (var (name, value) in new[]
        {
            ("REDIS_PORT", ports[0]), ("PG_PORT", ports[1]), ("SILO_PORT", ports[2]), ("GATEWAY_PORT", ports[3]), ("SILO_HTTP_PORT", ports[4]), ("API_PORT", ports[5]),
        }) start.Environment[name] = value.ToString();
        start.Environment["CONFIGURATION"] = configuration;
        start.Environment["NO_BUILD"] = "1";
        start.Environment["LOCAL_CLUSTER_DIR"] = work;
        if (ClusterProcess.QuickStart) start.Environment["DOTNET_TC_QuickJit"] = "1"; // as every product process the tests start
        var output = new StringBuilder();
        using var script = Process.Start(start)!;
        script.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        script.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
            while (!Output().Contains("Ctrl-C stops everything") && !script.HasExited && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.True(Output().Contains("Ctrl-C stops everything"), Output());
            Assert.DoesNotContain("not ready", Output());
            using (var http = new HttpClient())
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{ports[5]}/health/ready")).StatusCode);
            }

            // The silo re-arms reminders from storage a few seconds after it starts (ReminderRearm); a stop in the middle of
            // that is covered by its own handling, but a call Orleans is still placing as it shuts down is logged by
            // Orleans itself. Stopping after it finished makes the clean-log check about this product's shutdown.
            var siloLog = Path.Combine(work, "logs", "silo0.log");
            var rearmed = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!(File.Exists(siloLog) && (await File.ReadAllTextAsync(siloLog)).Contains("Reminders re-armed")) && DateTime.UtcNow < rearmed) await Task.Delay(200);

            var stopwatch = Stopwatch.StartNew();
            using (var interrupt = Process.Start("kill", ["-INT", "--", $"-{script.Id}"])) await interrupt.WaitForExitAsync();
            await script.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            stopwatch.Stop();
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {stopwatch.Elapsed}\n{Output()}");

            var silo = await File.ReadAllTextAsync(Path.Combine(work, "logs", "silo0.log"));
            var unclean = LogEntries(silo).Where(e => IsLevel(e, "fail", "crit") || e.Contains("Exception") && !IsClientLeaving(e)).ToList();
            Assert.True(unclean.Count == 0, string.Join("\n", unclean) + "\n--- whole log ---\n" + silo);
            Assert.False(Listening(ports[0]), "Redis still listens");
            Assert.False(Listening(ports[1]), "PostgreSQL still listens");
        }
        finally
        {
            if (!script.HasExited) using (Process.Start("kill", ["-KILL", "--", $"-{script.Id}"])) { }
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The console logger's entries: each starts with its level ("info: Category[id]") at the start of a line.</summary>
    private static IEnumerable<string> LogEntries(string log)
    {
        var entry = new StringBuilder();
        foreach (var line in log.Split('\n'))
        {
            if (line.Length > 5 && line[4] == ':' && line[5] == ' ' && !char.IsWhiteSpace(line[0]) && entry.Length > 0)
            {
                yield return entry.ToString();
                entry.Clear();
            }
            entry.AppendLine(line);
        }
        if (entry.Length > 0) yield return entry.ToString();
    }

    private static bool IsLevel(string entry, params string[] levels) => levels.Any(level => entry.StartsWith(level + ": ", StringComparison.Ordinal));

    /// <summary>
    /// The API's cluster client closing its connection while the silo still runs: Orleans logs the peer's close at
    /// Information with the exception it saw. Which of the two processes stops first is the signal's race, not this product's.
    /// </summary>
    private static bool IsClientLeaving(string entry) =>
        entry.StartsWith("info: Orleans.Runtime.Messaging.Connection[", StringComparison.Ordinal)
        && entry.Contains("ConnectionAbortedException: Underlying connection closed", StringComparison.Ordinal);

    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
