using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Monitoring.Tests.Support;

/// <summary>
/// A loopback HTTP server that misbehaves on purpose: HTML where MCP or metrics are expected, garbage, replies far over
/// the size limit, 401s, and requests it holds until the test lets go.
/// </summary>
public sealed class RawHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RawHttpServer(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>Completes when a request reaches /hang.</summary>
    public TaskCompletionSource HangReached { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseHung()
    {
        _release.TrySetResult();
    }

    public static async Task<RawHttpServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new RawHttpServer(app);
        app.Map("/html", () => Results.Content("<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"));
        app.Map("/garbage", () => Results.Text("this is { not prometheus\n\u0001\u0002 at all\n", "text/plain"));
        app.Map("/huge-json", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pad\":\"", context.RequestAborted);
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'a');
            for (var i = 0; i < 32; i++)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
            await context.Response.WriteAsync("\"}}", context.RequestAborted);
        });
        app.Map("/huge", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain";
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'#');
            for (var i = 0; i < 32; i++) // 2 MiB, no Content-Length: the limit must bite while reading
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
        });
        app.Map("/unauthorized", () => Results.StatusCode(401));
        app.Map("/forbidden", () => Results.StatusCode(403));
        app.Map("/error", () => Results.StatusCode(500));
        app.Map("/not-json", () => Results.Text("OK", "text/plain"));
        app.Map("/hang", async (HttpContext context) =>
        {
            server.HangReached.TrySetResult();
            await server._release.Task.WaitAsync(context.RequestAborted);
            return Results.StatusCode(500);
        });
        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseHung();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
