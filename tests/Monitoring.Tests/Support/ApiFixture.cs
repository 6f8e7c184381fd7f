using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Monitoring.Tests.Support;

/// <summary>
/// The real API and its co-hosted silo, as `dotnet run --project src/Api` starts them, through the real HTTP
/// pipeline. The silo gets free ports and a FakeTimeProvider for grain time.
/// </summary>
public sealed class ApiFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const int TelemetryLimit = 100;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public WebhookReceiver Webhooks { get; private set; } = null!;

    public CapturedLogs Logs { get; } = new();

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Makes chosen grains throw on every incoming call.</summary>
    public FaultInjection Faults { get; } = new();

    public async ValueTask InitializeAsync()
    {
        Webhooks = await WebhookReceiver.StartAsync();
        Http = CreateClient();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Orleans:SiloPort", FreePort().ToString());
        builder.UseSetting("Orleans:GatewayPort", FreePort().ToString());
        builder.UseSetting("Orleans:ClusterId", "api-tests-" + Guid.NewGuid().ToString("N")[..8]);
        builder.UseSetting("Monitoring:MaxTelemetryBatch", TelemetryLimit.ToString());
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<IIncomingGrainCallFilter>(Faults);
            services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
    }

    public override async ValueTask DisposeAsync()
    {
        // Shutdown waits on the host's default TimeProvider, which is this fake clock: let it run while the host stops.
        var stopping = base.DisposeAsync().AsTask();
        while (!stopping.IsCompleted)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(stopping, Task.Delay(10));
        }
        await stopping;
        await Webhooks.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Every log line written during the tests, to check that secrets never reach a log.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IEnumerable<string> Lines => _lines;

    /// <summary>The lines that mention this text (a server's or an alert's id), for a failure's message.</summary>
    public string About(string text) => string.Join('\n', _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).TakeLast(40))
        + "\n--- the last warnings and errors:\n" + string.Join('\n', _lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).TakeLast(20));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
