using System.Diagnostics;

namespace Monitoring.Tests.Support;

/// <summary>
/// The silo of the previous release, built from its commit: the newest tag v* that is not this commit, or, in a clone
/// without tags, v0.40's commit. Built once per machine into a folder named by the commit (a later run reuses it), from
/// <c>git archive</c>, offline, as the release was. <c>.ci/run</c> builds it the same way before the tests start.
/// </summary>
public static class PreviousRelease
{
    /// <summary>v0.40: configuration as code and the command line. The fallback when the clone has no tags.</summary>
    private const string PinnedCommit = "f9eaab3";

    private static readonly SemaphoreSlim Building = new(1, 1);

    public static async Task<(string Name, string SiloDll)> SiloAsync()
    {
        await Building.WaitAsync();
        try
        {
            var head = (await GitAsync("rev-parse", "HEAD")).Trim();
            var tags = (await GitAsync("tag", "--list", "v*", "--sort=-v:refname")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string? name = null;
            foreach (var tag in tags)
            {
                if ((await GitAsync("rev-list", "-n", "1", tag)).Trim() != head) { name = tag; break; }
            }
            var commit = (await GitAsync("rev-parse", $"{name ?? PinnedCommit}^{{commit}}")).Trim();
            name ??= PinnedCommit;
            var folder = Path.Combine(Path.GetTempPath(), $"mcp-alerting-release-{commit[..12]}");
            var dll = Path.Combine(folder, "out", "Monitoring.Silo.dll");
            if (File.Exists(dll)) return (name, dll);
            var source = Path.Combine(folder, "src");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(source);
            var archive = Path.Combine(folder, "source.tar");
            await GitAsync("archive", "-o", archive, commit);
            await RunAsync("tar", Repository.Root, "-xf", archive, "-C", source);
            await RunAsync("dotnet", source, "build", "src/Silo", "-c", "Debug", "-o", Path.Combine(folder, "out"), "-nologo", "-v", "q", "-p:TreatWarningsAsErrors=false", "--disable-build-servers");
            return File.Exists(dll) ? (name, dll) : throw new InvalidOperationException($"building {name} made no {dll}");
        }
        finally
        {
            Building.Release();
        }
    }

    private static Task<string> GitAsync(params string[] args) => RunAsync("git", Repository.Root, args);

    private static async Task<string> RunAsync(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        return await output;
    }
}
