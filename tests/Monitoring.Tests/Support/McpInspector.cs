using System.Diagnostics;

namespace Monitoring.Tests.Support;

/// <summary>
/// The MCP Inspector's command-line mode (npm's @modelcontextprotocol/inspector): a client nobody here wrote. `.ci/run`
/// installs it into .tools/inspector; a run without it installs it there first, with the machine's npm.
/// </summary>
public static class McpInspector
{
    /// <summary>The version the tests drive. 0.21 is the first with --header; its CLI mode runs on Node.js 20.</summary>
    public const string Version = "0.21.2";

    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static string Directory => Repository.PathTo(".tools", "inspector");

    private static string Cli => Path.Combine(Directory, "node_modules", "@modelcontextprotocol", "inspector", "cli", "build", "cli.js");

    /// <summary>Runs the CLI with these arguments and answers its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        await EnsureInstalledAsync();
        return await RunProcessAsync(LocalProcesses.Find("node", "/usr/bin/node"), [Cli, .. arguments], TimeSpan.FromSeconds(60));
    }

    private static async Task EnsureInstalledAsync()
    {
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(Cli)) return;
            System.IO.Directory.CreateDirectory(Directory);
            var (code, output) = await RunProcessAsync(LocalProcesses.Find("npm", "/usr/bin/npm"),
                ["install", "--prefix", Directory, "--no-audit", "--no-fund", "--loglevel=error", $"@modelcontextprotocol/inspector@{Version}"], TimeSpan.FromMinutes(5));
            Assert.True(code == 0 && File.Exists(Cli), $"npm could not install the MCP Inspector {Version} into {Directory}: {output}");
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task<(int, string)> RunProcessAsync(string file, string[] arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} ran past {limit}");
        }
        return (process.ExitCode, await output + await error);
    }
}
