using System.Diagnostics;

namespace Monitoring.Tests.Support;

/// <summary>Prometheus' own linter (Debian's prometheus package): `promtool check metrics` on an exposition.</summary>
public static class Promtool
{
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var start = new ProcessStartInfo(LocalProcesses.Find("promtool", "/usr/bin/promtool"), "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
