using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Servers;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Servers;

/// <summary>A fleet applied in one request, and telemetry for many servers in one request.</summary>
[Collection(ApiCollection.Name)]
public sealed class BulkTests(ApiFixture api)
{
    private static string Server(string id, string name, string endpoint = "http://127.0.0.1:9/mcp", string t = "") =>
        $$"""{"id":"{{id}}","name":"{{name}}","endpoint":"{{endpoint}}","labels":{"t":"{{t}}"},"probe":{"enabled":false} }""";

    private async Task<HttpStatusCode> StatusOfAsync(string url) => (await api.Http.GetAsync(url)).StatusCode;

    [Fact]
    public async Task A_server_caught_between_joining_its_shard_and_storing_itself_is_not_taken_for_a_stray()
    {
        // In its shard, not yet stored: the shard's tick then must not drop it (it answers "not registered" for now).
        var id = $"r-{Guid.NewGuid():N}"[..10];
        const string register = $"{nameof(IMcpServerGrain)}.{nameof(IMcpServerGrain.RegisterAsync)}";
        var shard = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IServerShardGrain>(ServerShards.Of(id));
        api.Faults.Hold(register);
        Task<HttpResponseMessage> registering;
        try
        {
            registering = api.Http.PostJsonAsync("/api/servers", Server(id, "R"));
            await Eventually.TrueAsync(() => Task.FromResult(api.Faults.Waiting > 0), "the registration to reach its server");
            Assert.Contains(id, await ShardListAsync(id));
            var at = api.Time.GetUtcNow().UtcDateTime;
            await shard.AsReference<IRemindable>().ReceiveReminder("keep-alive", new TickStatus(at, TimeSpan.FromMinutes(1), at));
            Assert.Contains(id, await ShardListAsync(id));
        }
        finally
        {
            api.Faults.Release(register);
        }
        Assert.Equal(HttpStatusCode.Created, (await registering).StatusCode);
        Assert.Contains(id, await ShardListAsync(id));
    }

    /// <summary>The servers the shard that keeps this one alive lists.</summary>
    private Task<string[]> ShardListAsync(string serverId) =>
        api.Services.GetRequiredService<IGrainFactory>().GetGrain<IServerShardGrain>(ServerShards.Of(serverId)).GetServersAsync();

    [Fact]
    public async Task A_bulk_apply_creates_then_replaces_and_one_bad_server_refuses_the_whole_request()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var first = await api.Http.PostJsonAsync("/api/servers/bulk", $$"""{"servers":[{{Server($"a-{id}", "A")}},{{Server($"b-{id}", "B")}},{{Server($"c-{id}", "C")}}]}""");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var applied = await first.JsonAsync();
        Assert.Equal(3, applied.GetProperty("created").GetInt32());
        Assert.Equal(0, applied.GetProperty("updated").GetInt32());
        foreach (var server in new[] { $"a-{id}", $"b-{id}", $"c-{id}" }) Assert.Contains(server, await ShardListAsync(server));

        // Applying again replaces: the new name shows; nothing is created twice.
        var again = await (await api.Http.PostJsonAsync("/api/servers/bulk", $$"""{"servers":[{{Server($"a-{id}", "A2")}},{{Server($"b-{id}", "B")}},{{Server($"c-{id}", "C")}}]}""")).JsonAsync();
        Assert.Equal(0, again.GetProperty("created").GetInt32());
        Assert.Equal(3, again.GetProperty("updated").GetInt32());
        Assert.Equal("A2", (await (await api.Http.GetAsync($"/api/servers/a-{id}")).JsonAsync()).GetProperty("name").GetString());

        // One bad server (and one given twice) refuses the request, says where, and creates none of the others.
        var bad = await api.Http.PostJsonAsync("/api/servers/bulk",
            $$"""{"servers":[{{Server($"d-{id}", "D")}},{{Server($"e-{id}", "E", "ftp://x")}},{{Server($"d-{id}", "D")}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Contains("servers[1].endpoint", problem);
        Assert.Contains("servers[2].id", problem);
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync($"/api/servers/d-{id}"));
        Assert.DoesNotContain($"d-{id}", await ShardListAsync($"d-{id}"));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Http.PostJsonAsync("/api/servers/bulk", """{"servers":[]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Http.PostJsonAsync("/api/servers/bulk", """{"servers":[null]}""")).StatusCode);
    }

    [Fact]
    public async Task A_bulk_push_reaches_every_server_fires_the_breaching_one_and_names_the_unknown()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"hook-{s.Id}", "hook");
        Assert.Equal(HttpStatusCode.OK, (await api.Http.PostJsonAsync("/api/servers/bulk",
            $$"""{"servers":[{{Server($"ok-{s.Id}", "Ok", t: s.Id)}},{{Server($"bad-{s.Id}", "Bad", t: s.Id)}}]}""")).StatusCode);
        await s.RuleAsync($$""" "channels":["hook-{{s.Id}}"]""");
        const string healthy = """{"requests":[{"method":"tools/call","tool":"search","durationMs":20,"success":true},{"method":"tools/call","tool":"search","durationMs":30,"success":true}]}""";
        const string failing = """{"requests":[{"method":"tools/call","tool":"search","durationMs":20,"success":false}]}""";

        // A bad record anywhere refuses the whole push, and nothing is taken.
        var refused = await api.Http.PostJsonAsync("/api/telemetry",
            $$"""{"servers":[{"serverId":"ok-{{s.Id}}","telemetry":{{healthy}} },{"serverId":"bad-{{s.Id}}","telemetry":{"requests":[{"method":"tools/call","durationMs":-5}]} }]}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("servers[1].telemetry.requests[0]", await refused.Content.ReadAsStringAsync());
        Assert.Equal(0, (await (await api.Http.GetAsync($"/api/servers/ok-{s.Id}")).JsonAsync()).GetProperty("requestsInWindow").GetInt64());

        var pushed = await api.Http.PostJsonAsync("/api/telemetry",
            $$"""{"servers":[{"serverId":"ok-{{s.Id}}","telemetry":{{healthy}} },{"serverId":"bad-{{s.Id}}","telemetry":{{failing}} },{"serverId":"gone-{{s.Id}}","telemetry":{{healthy}} }]}""");
        Assert.Equal(HttpStatusCode.Accepted, pushed.StatusCode);
        var result = await pushed.JsonAsync();
        Assert.Equal(3, result.GetProperty("servers").GetInt32());
        Assert.Equal(3, result.GetProperty("accepted").GetInt32());
        Assert.Equal($"gone-{s.Id}", result.GetProperty("unknown").EnumerateArray().Single().GetString());
        Assert.Empty(result.GetProperty("retry").EnumerateArray());
        Assert.Equal("firing", (await s.AlertAsync(s.AlertIdFor($"bad-{s.Id}"))).GetProperty("status").GetString());
        Assert.Equal(0, (await (await api.Http.GetAsync($"/api/alerts?serverId=ok-{s.Id}")).JsonAsync()).GetProperty("total").GetInt32());
        await s.WaitForHooksAsync("hook", 1);
    }
}
