using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Monitoring.Tests.Support;

public sealed record ReceivedHook(string Path, Dictionary<string, string> Headers, JsonElement Body, DateTimeOffset At);

/// <summary>A real HTTP listener on 127.0.0.1 that records every webhook it gets, by path.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedHook> _received = new();
    private readonly ConcurrentDictionary<string, int> _failuresLeft = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/{**path}", async (HttpContext context, string path) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            receiver._received.Enqueue(new ReceivedHook("/" + path, headers, body.RootElement.Clone(), DateTimeOffset.UtcNow));
            if (receiver._failuresLeft.TryGetValue("/" + path, out var left) && left > 0)
            {
                receiver._failuresLeft["/" + path] = left - 1;
                return Results.StatusCode(500);
            }
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    public string UrlFor(string path) => BaseUrl + path;

    public IReadOnlyList<ReceivedHook> At(string path) => [.. _received.Where(h => h.Path == path)];

    public void FailNext(string path, int times) => _failuresLeft[path] = times;

    public async Task<IReadOnlyList<ReceivedHook>> WaitForAsync(string path, int count, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => At(path).Count >= count, $"{count} webhooks at {path}", timeout);
        return At(path);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
