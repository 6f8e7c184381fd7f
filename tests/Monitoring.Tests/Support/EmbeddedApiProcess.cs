namespace Monitoring.Tests.Support;

/// <summary>The API as its own process in embedded mode (`dotnet Monitoring.Api.dll`), on free ports, for settings read at start.</summary>
public sealed class EmbeddedApiProcess : IAsyncDisposable
{
    private EmbeddedApiProcess(ClusterProcess process, HttpClient http)
    {
        Process = process;
        Http = http;
    }

    public ClusterProcess Process { get; }

    public HttpClient Http { get; }

    public static async Task<EmbeddedApiProcess> StartAsync(params (string Name, string Value)[] environment)
    {
        var port = LocalPorts.Free();
        var process = ClusterProcess.Start("api", Repository.Dll("Api"), [
                ("Orleans__SiloPort", LocalPorts.Free().ToString()),
                ("Orleans__GatewayPort", LocalPorts.Free().ToString()),
                ("Orleans__ClusterId", "proc-" + Guid.NewGuid().ToString("N")[..8]),
                .. environment],
            "--urls", $"http://127.0.0.1:{port}");
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await Eventually.TrueAsync(async () =>
        {
            try { return (await http.GetAsync("/health/ready")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, "the API process to start" + process.Tail(), TimeSpan.FromSeconds(60));
        return new EmbeddedApiProcess(process, http);
    }

    public ValueTask DisposeAsync()
    {
        Process.Kill();
        Http.Dispose();
        return ValueTask.CompletedTask;
    }
}
