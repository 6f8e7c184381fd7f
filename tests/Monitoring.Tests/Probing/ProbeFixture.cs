using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Settings;
using Monitoring.Probing;
using Monitoring.Servers;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Probing;

/// <summary>The checkers as a silo wires them, against a legacy and a modern MCP server and a misbehaving HTTP server on loopback.</summary>
public sealed class ProbeFixture : IAsyncLifetime
{
    public const long SizeLimit = 256 * 1024;

    private ServiceProvider _services = null!;

    public TestMcpServer Legacy { get; private set; } = null!;
    public TestMcpServer Modern { get; private set; } = null!;
    public RawHttpServer Raw { get; private set; } = null!;

    public McpProber Prober => _services.GetRequiredService<McpProber>();
    public MetricsScraper Scraper => _services.GetRequiredService<MetricsScraper>();
    public HealthReportReader HealthReader => _services.GetRequiredService<HealthReportReader>();

    public async ValueTask InitializeAsync()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Probing:MaxResponseBytes"] = SizeLimit.ToString(), ["Outbound:AllowLoopback"] = "true" })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddActiveChecks();
        _services = services.BuildServiceProvider();
        Legacy = await TestMcpServer.StartAsync(legacy: true, name: "legacy-mcp");
        Modern = await TestMcpServer.StartAsync(legacy: false, name: "modern-mcp");
        Raw = await RawHttpServer.StartAsync();
    }

    public static McpServer Server(string endpoint, TimeSpan? timeout = null, Dictionary<string, string>? headers = null) =>
        new("s", "S", endpoint, [], true, default, default)
        {
            Probe = ProbeSettings.Default with { Timeout = timeout ?? TimeSpan.FromSeconds(5), Headers = headers ?? [] },
        };

    public async ValueTask DisposeAsync()
    {
        await Legacy.DisposeAsync();
        await Modern.DisposeAsync();
        await Raw.DisposeAsync();
        await _services.DisposeAsync();
    }
}
