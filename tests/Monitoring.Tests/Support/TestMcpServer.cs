using System.ComponentModel;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Prometheus;

namespace Monitoring.Tests.Support;

/// <summary>
/// A real MCP server on loopback, hosted with ModelContextProtocol.AspNetCore, instrumented with the seed's metric
/// families through prometheus-net (on a registry of its own) and answering the seed's health report.
/// Legacy servers speak the initialize-era revisions with sessions; modern ones are stateless (2026-07-28).
/// It can be stopped and started again on the same port.
/// </summary>
public sealed class TestMcpServer : IAsyncDisposable
{
    public const string LegacyRevision = "2025-06-18";

    /// <summary>How the server speaks.</summary>
    public enum Kind
    {
        /// <summary>2026-07-28, stateless, Streamable HTTP.</summary>
        Modern,

        /// <summary>The initialize era with sessions, over Streamable HTTP.</summary>
        Legacy,

        /// <summary>Only the 2024-11-05 HTTP+SSE transport (GET /mcp/sse, POST /mcp/message); Streamable HTTP answers 404.</summary>
        SseOnly,

        /// <summary>The initialize era, but server/discover answers HTTP 500 with a JSON-RPC internal error, as a real server does.</summary>
        DiscoverFails,
    }

    private readonly Kind _kind;
    private readonly bool _legacy;
    private readonly string _name;
    private readonly McpServerPrimitiveCollection<McpServerTool> _tools = [];
    private WebApplication? _app;

    private TestMcpServer(Kind kind, string name)
    {
        _kind = kind;
        _legacy = kind != Kind.Modern;
        _name = name;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("mcp_requests_total", "Total MCP requests",
            new CounterConfiguration { LabelNames = ["method", "status", "transport", "user_id"] });
        Duration = factory.CreateHistogram("mcp_request_duration_seconds", "MCP request duration",
            new HistogramConfiguration { LabelNames = ["method", "transport"], Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        ToolExecutions = factory.CreateCounter("mcp_tool_executions_total", "Total tool executions",
            new CounterConfiguration { LabelNames = ["tool", "status", "category", "user_id"] });
        ToolErrors = factory.CreateCounter("mcp_tool_errors_total", "Total tool errors",
            new CounterConfiguration { LabelNames = ["tool", "error_type", "category"] });
        Connections = factory.CreateGauge("mcp_active_connections", "Active connections", new GaugeConfiguration { LabelNames = ["transport"] });
        Cpu = factory.CreateGauge("mcp_cpu_usage_percent", "CPU usage");
        Memory = factory.CreateGauge("mcp_memory_usage_bytes", "Memory usage");
        AddTool("work", "Does work that takes the given milliseconds; fails when asked.");
        AddTool("search", "Searches.");
    }

    public CollectorRegistry Registry { get; }
    public Counter Requests { get; }
    public Histogram Duration { get; }
    public Counter ToolExecutions { get; }
    public Counter ToolErrors { get; }
    public Gauge Connections { get; }
    public Gauge Cpu { get; }
    public Gauge Memory { get; }

    public int Port { get; private set; }
    public string Endpoint => $"http://127.0.0.1:{Port}/mcp";
    public string MetricsUrl => $"http://127.0.0.1:{Port}/metrics";
    public string HealthUrl => $"http://127.0.0.1:{Port}/health";

    /// <summary>When set, /mcp answers 401 unless the request carries this bearer token.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>What /health reports; "unhealthy" answers 503 as the seed does.</summary>
    public string HealthStatus { get; set; } = "healthy";

    /// <summary>Requests that reached /mcp, and the Mcp-Session-Id they carried (null when none).</summary>
    public List<(string? SessionId, string? Authorization, string Path)> McpRequests { get; } = [];

    public static Task<TestMcpServer> StartAsync(bool legacy, string name = "test-mcp") => StartAsync(legacy ? Kind.Legacy : Kind.Modern, name);

    public static async Task<TestMcpServer> StartAsync(Kind kind, string name = "test-mcp")
    {
        var server = new TestMcpServer(kind, name);
        await server.StartAsync();
        return server;
    }

    public void AddTool(string name, string description)
    {
        var tool = McpServerTool.Create(
            ([Description("milliseconds the work took")] double ms, [Description("fail the call")] bool fail) => Work(name, ms, fail),
            new McpServerToolCreateOptions { Name = name, Description = description });
        _tools.Add(tool);
    }

    public void RemoveTool(string name)
    {
        if (_tools.TryGetPrimitive(name, out var tool)) _tools.Remove(tool);
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, Port));
        builder.Services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = _name, Version = "1.2.3" };
                options.ProtocolVersion = _legacy ? LegacyRevision : null;
                options.ToolCollection = _tools;
            })
            .WithHttpTransport(options =>
            {
                options.Stateless = !_legacy;
#pragma warning disable MCP9004 // the legacy transport is what this test server exists to speak
                options.EnableLegacySse = _kind == Kind.SseOnly;
#pragma warning restore MCP9004
            });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/mcp"))
            {
                var authorization = context.Request.Headers.Authorization.ToString();
                lock (McpRequests) McpRequests.Add((context.Request.Headers["Mcp-Session-Id"].FirstOrDefault(), authorization, context.Request.Path.Value ?? ""));
                if (RequiredToken is not null && authorization != $"Bearer {RequiredToken}")
                {
                    context.Response.StatusCode = 401;
                    return;
                }
                if (_kind == Kind.SseOnly && context.Request.Path == "/mcp")
                {
                    context.Response.StatusCode = 404; // no Streamable HTTP here: only /mcp/sse and /mcp/message
                    return;
                }
                if (_kind == Kind.DiscoverFails && HttpMethods.IsPost(context.Request.Method))
                {
                    context.Request.EnableBuffering();
                    var body = await new StreamReader(context.Request.Body, leaveOpen: true).ReadToEndAsync();
                    context.Request.Body.Position = 0;
                    if (body.Contains("\"server/discover\"", StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = 500;
                        await context.Response.WriteAsJsonAsync(new { jsonrpc = "2.0", id = 1, error = new { code = -32603, message = "Internal error" } });
                        return;
                    }
                }
            }
            await next(context);
        });
        app.MapMcp("/mcp");
        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4";
            await Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapGet("/health", (HttpContext context) =>
        {
            var report = new
            {
                status = HealthStatus,
                timestamp = DateTime.UtcNow.ToString("O"),
                version = "1.0.0",
                uptime = 12.5,
                checks = new Dictionary<string, object>
                {
                    ["tool_registry"] = new { name = "tool_registry", status = "healthy", message = "2 tools" },
                    ["system_resources"] = new { name = "system_resources", status = HealthStatus, message = HealthStatus == "healthy" ? "ok" : "High CPU usage: 97.0%" },
                },
                summary = new Dictionary<string, int> { ["healthy"] = 1 },
            };
            return Results.Json(report, statusCode: HealthStatus == "unhealthy" ? 503 : 200);
        });
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private CallToolResult Work(string tool, double ms, bool fail)
    {
        var status = fail ? "error" : "success";
        Requests.WithLabels("tools/call", status, "http", "anonymous").Inc();
        Duration.WithLabels("tools/call", "http").Observe(ms / 1000.0);
        ToolExecutions.WithLabels(tool, status, "general", "anonymous").Inc();
        if (fail) ToolErrors.WithLabels(tool, "ValueError", "general").Inc();
        return new CallToolResult
        {
            IsError = fail,
            Content = [new TextContentBlock { Text = fail ? "it failed" : JsonSerializer.Serialize(new { ok = true, ms }) }],
        };
    }
}
