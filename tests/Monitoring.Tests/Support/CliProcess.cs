using System.Diagnostics;

namespace Monitoring.Tests.Support;

/// <summary>The command line as a process (`dotnet Monitoring.Cli.dll ...`): its exit code, standard output and error.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
    }

    public static async Task<Result> RunAsync(string? server, params string[] args) => await RunAsync(server, [], args);

    public static async Task<Result> RunAsync(string? server, (string Name, string Value)[] environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Repository.Dll("Cli"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // Nothing from the machine running the tests: no profile file, no server but the one given.
        start.Environment["HOME"] = Path.Combine(Path.GetTempPath(), "cli-home-" + Guid.NewGuid().ToString("N")[..8]);
        start.Environment.Remove("MCP_ALERTING_URL");
        start.Environment.Remove("MCP_ALERTING_API_KEY");
        if (server is not null) start.Environment["MCP_ALERTING_URL"] = server;
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the command line did not finish in 120 s: {string.Join(' ', args)}\n{await output}\n{await error}");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
