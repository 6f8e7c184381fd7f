using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// One notification test's world, through the real HTTP API: its own ids, a server named "Search" labelled with the
/// test's id, a rule selecting only that label, and helpers to fire, clear and drive the fake clock.
/// </summary>
public sealed class ApiScenario(ApiFixture api)
{
    public string Id { get; } = Guid.NewGuid().ToString("N")[..8];
    public string ServerId => $"s-{Id}";
    public string RuleId => $"r-{Id}";
    public string AlertId => AlertIdFor(ServerId);
    public HttpClient Http => api.Http;
    public WebhookReceiver Receiver => api.Webhooks;

    public string AlertIdFor(string serverId) => $"{RuleId}:{serverId}";

    public string Path(string name) => $"/n/{Id}/{name}";

    public string Url(string name) => api.Webhooks.UrlFor(Path(name));

    public async Task ChannelAsync(string channelId, string type, string config)
    {
        var response = await Http.PostJsonAsync("/api/channels", $$"""{"id":"{{channelId}}","type":"{{type}}","config":{{config}} }""");
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A webhook channel posting to this test's path <paramref name="name"/>; <paramref name="extra"/> adds config fields.</summary>
    public Task WebhookChannelAsync(string channelId, string name, string extra = "") =>
        ChannelAsync(channelId, "webhook", $$"""{"url":"{{Url(name)}}"{{extra}} }""");

    public async Task ServerAsync(string? serverId = null)
    {
        var response = await Http.PostJsonAsync("/api/servers",
            $$"""{"id":"{{serverId ?? ServerId}}","name":"Search","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"{{Id}}","env":"prod"} }""");
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The server and a critical error-rate rule that fires at once; <paramref name="fields"/> adds rule fields.</summary>
    public async Task ServerAndRuleAsync(string fields)
    {
        await ServerAsync();
        await RuleAsync(fields);
    }

    public async Task RuleAsync(string fields)
    {
        var response = await Http.PostJsonAsync("/api/rules",
            $$"""{"id":"{{RuleId}}","name":"High error rate","condition":"error_rate > 0.05","severity":"critical","message":"Error rate exceeded 5%","cooldown":"0s","escalateAfter":"off","selector":{"t":"{{Id}}"},{{fields}} }""");
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    public async Task FireAsync(string? serverId = null)
    {
        var push = await Http.PostJsonAsync($"/api/servers/{serverId ?? ServerId}/telemetry",
            """{"requests":[{"method":"tools/call","tool":"search","durationMs":120,"success":false}]}""");
        Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
    }

    public async Task ClearAsync(string? serverId = null)
    {
        var successes = string.Join(",", Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":80,"success":true}""", 99));
        Assert.Equal(HttpStatusCode.Accepted, (await Http.PostJsonAsync($"/api/servers/{serverId ?? ServerId}/telemetry", $$"""{"requests":[{{successes}}]}""")).StatusCode);
    }

    public async Task<JsonElement> AlertAsync(string? alertId = null) => await (await Http.GetAsync($"/api/alerts/{alertId ?? AlertId}")).JsonAsync();

    public async Task<string> StatusAsync() => (await AlertAsync()).GetProperty("status").GetString()!;

    public async Task<JsonElement[]> NotificationsAsync(string? alertId = null) =>
        [.. (await (await Http.GetAsync($"/api/alerts/{alertId ?? AlertId}/notifications")).JsonAsync()).GetProperty("items").EnumerateArray()];

    public async Task<JsonElement[]> DeliveriesAsync(string channelId) =>
        [.. (await (await Http.GetAsync($"/api/channels/{channelId}/deliveries")).JsonAsync()).GetProperty("items").EnumerateArray()];

    public async Task<JsonElement> ChannelViewAsync(string channelId) => await (await Http.GetAsync($"/api/channels/{channelId}")).JsonAsync();

    public IReadOnlyList<ReceivedHook> Hooks(string name) => api.Webhooks.At(Path(name));

    public Task<IReadOnlyList<ReceivedHook>> WaitForHooksAsync(string name, int count) => api.Webhooks.WaitForAsync(Path(name), count);

    /// <summary>
    /// Moves the fake clock forward in steps until the condition holds; answers how far it moved. The clock moves at
    /// most <paramref name="limit"/>; after that the condition still has until the real deadline, since what the clock
    /// made due (a send to a receiver, say) takes real time, longer on a busy machine than the steps allow.
    /// </summary>
    public async Task<TimeSpan> AdvanceUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? step = null, TimeSpan? limit = null)
    {
        var moved = TimeSpan.Zero;
        var by = step ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what} (fake clock moved {moved})");
            }
            if (moved < (limit ?? TimeSpan.FromHours(3)))
            {
                api.Time.Advance(by);
                moved += by;
            }
            await Task.Delay(15);
        }
        return moved;
    }

    public Task<TimeSpan> AdvanceUntilAsync(Func<bool> condition, string what, TimeSpan? step = null, TimeSpan? limit = null) =>
        AdvanceUntilAsync(() => Task.FromResult(condition()), what, step, limit);

    /// <summary>Moves the fake clock forward by <paramref name="total"/> in steps, letting timers run between them.</summary>
    public async Task AdvanceAsync(TimeSpan total, TimeSpan? step = null)
    {
        var by = step ?? TimeSpan.FromSeconds(30);
        for (var moved = TimeSpan.Zero; moved < total; moved += by)
        {
            api.Time.Advance(moved + by > total ? total - moved : by);
            await Task.Delay(15);
        }
    }
}
