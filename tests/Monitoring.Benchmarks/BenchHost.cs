using System.Diagnostics;

/// <summary>Starts the product as a user does (Release, on its own ports) for a benchmark, and finds the repository.</summary>
public static class BenchHost
{
    public static Process StartApi(string url, int siloPort, int gatewayPort, string extraArguments = "")
    {
        var api = Process.Start(new ProcessStartInfo("dotnet",
            $"run -c Release --project {Path.Combine(RepoRoot(), "src", "Api")} -- --urls {url} --Orleans:SiloPort={siloPort} --Orleans:GatewayPort={gatewayPort} --Logging:LogLevel:Default=Warning {extraArguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        api.OutputDataReceived += (_, _) => { };
        api.ErrorDataReceived += (_, _) => { };
        api.BeginOutputReadLine();
        api.BeginErrorReadLine();
        return api;
    }

    public static async Task WaitForHealthAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            try { if ((await http.GetAsync("/health")).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException("the API did not come up");
    }

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Monitoring.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("run from inside the repository");
    }
}
