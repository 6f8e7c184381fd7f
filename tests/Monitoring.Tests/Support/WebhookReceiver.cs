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

public sealed record ReceivedHook(string Path, Dictionary<string, string> Headers, JsonElement Body, string RawBody, DateTimeOffset At);

/// <summary>
/// A real HTTP listener on 127.0.0.1 that records every request it gets, by path. It answers 200 unless a test has
/// scripted the next answers of a path (failures, 429s) or given the path a responder (Slack's Web API).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedHook> _received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Func<IResult>>> _scripted = new();
    private readonly ConcurrentDictionary<string, Func<ReceivedHook, IResult>> _responders = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapMethods("/{**path}", ["POST", "PUT", "PATCH"], async (HttpContext context, string path) =>
        {
            var raw = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var body = JsonDocument.Parse(raw.Length == 0 ? "null" : raw).RootElement.Clone();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var hook = new ReceivedHook("/" + path, headers, body, raw, DateTimeOffset.UtcNow);
            receiver._received.Enqueue(hook);
            if (receiver._scripted.TryGetValue(hook.Path, out var script) && script.TryDequeue(out var next))
            {
                return next();
            }
            return receiver._responders.TryGetValue(hook.Path, out var responder) ? responder(hook) : Results.Ok();
        });
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    public string UrlFor(string path) => BaseUrl + path;

    public IReadOnlyList<ReceivedHook> At(string path) => [.. _received.Where(h => h.Path == path)];

    /// <summary>The next <paramref name="times"/> requests to the path get a 500.</summary>
    public void FailNext(string path, int times) => Script(path, times, () => Results.StatusCode(500));

    /// <summary>The next <paramref name="times"/> requests get this status (a 400 is a permanent failure).</summary>
    public void AnswerNext(string path, int times, int status) => Script(path, times, () => Results.StatusCode(status));

    /// <summary>The next <paramref name="times"/> requests get a 429 with Retry-After in seconds.</summary>
    public void RateLimitNext(string path, int times, int retryAfterSeconds) => Script(path, times, () => new RetryAfterResult(retryAfterSeconds));

    /// <summary>Every request to the path, past the scripted ones, is answered by this.</summary>
    public void RespondWith(string path, Func<ReceivedHook, IResult> responder) => _responders[path] = responder;

    public async Task<IReadOnlyList<ReceivedHook>> WaitForAsync(string path, int count, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => At(path).Count >= count, $"{count} webhooks at {path}", timeout);
        return At(path);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private void Script(string path, int times, Func<IResult> answer)
    {
        var queue = _scripted.GetOrAdd(path, _ => new ConcurrentQueue<Func<IResult>>());
        for (var i = 0; i < times; i++) queue.Enqueue(answer);
    }

    private sealed class RetryAfterResult(int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = seconds.ToString();
            return Task.CompletedTask;
        }
    }
}
