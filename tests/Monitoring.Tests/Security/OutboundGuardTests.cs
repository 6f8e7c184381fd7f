using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monitoring.Outbound;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>The outbound-request guard: which addresses it refuses, and that it refuses them at connect time, for every spelling and every hop.</summary>
public sealed class OutboundGuardTests
{
    private static OutboundGuard Guard(Action<OutboundOptions>? configure = null)
    {
        var options = new OutboundOptions();
        configure?.Invoke(options);
        return new OutboundGuard(Options.Create(options));
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fd00:ec2::254", "link-local")]
    [InlineData("0.0.0.0", "not a routable")]
    [InlineData("224.0.0.1", "not a routable")]
    public void Refuses_loopback_link_local_and_unroutable_addresses_by_default(string address, string reason) =>
        Assert.Contains(reason, Guard().Refusal(address, IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.5")]
    [InlineData("192.168.1.10")]
    [InlineData("fd12:3456::1")]
    public void Private_ranges_follow_the_operators_policy(string address)
    {
        Assert.Null(Guard().Refusal(address, IPAddress.Parse(address)));
        Assert.Contains("private range", Guard(o => o.AllowPrivate = false).Refusal(address, IPAddress.Parse(address)));
    }

    [Fact]
    public void Allow_and_deny_lists_take_hosts_and_ranges()
    {
        var guard = Guard(o =>
        {
            o.Allow.Add("169.254.10.0/24");
            o.Deny.Add("203.0.113.0/24");
            o.Deny.Add("evil.example");
        });
        Assert.Null(guard.Refusal("169.254.10.7", IPAddress.Parse("169.254.10.7")));
        Assert.Contains("link-local", guard.Refusal("169.254.169.254", IPAddress.Parse("169.254.169.254")));
        Assert.Contains("deny list", guard.Refusal("203.0.113.9", IPAddress.Parse("203.0.113.9")));
        Assert.Contains("deny list", guard.Refusal("evil.example", IPAddress.Parse("198.51.100.1")));
        Assert.Null(guard.Refusal("8.8.8.8", IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public async Task Every_spelling_of_loopback_and_every_redirect_hop_is_checked_when_connecting()
    {
        await using var target = await Listener.StartAsync("127.0.0.1", _ => Results.Ok("reached"));
        await using var front = await Listener.StartAsync("127.0.0.2", context => context.Request.Path == "/redirect"
            ? Results.Redirect($"http://127.0.0.1:{target.Port}/secret")
            : Results.Ok("front"));
        // 127.0.0.2 is allowed by name of address; all other loopback is refused.
        var guard = Guard(o => o.Allow.Add("127.0.0.2"));
        using var http = new HttpClient(guard.Handler(followRedirects: true));

        foreach (var url in new[]
        {
            $"http://127.0.0.1:{target.Port}/",
            $"http://2130706433:{target.Port}/",  // decimal
            $"http://0x7f000001:{target.Port}/",  // hex
            $"http://0177.0.0.1:{target.Port}/",  // octal
            $"http://localhost:{target.Port}/",   // a name that resolves to loopback
            $"http://[::1]:{target.Port}/",
        })
        {
            var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));
            var blocked = Blocked.Find(error);
            Assert.True(blocked is not null, $"{url}: {error}");
            Assert.Contains("loopback", blocked.Message);
        }
        Assert.Equal("\"front\"", await http.GetStringAsync($"http://127.0.0.2:{front.Port}/"));
        var redirected = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.2:{front.Port}/redirect"));
        Assert.Contains("127.0.0.1 is loopback", Blocked.Find(redirected)!.Message);
        Assert.Equal(0, target.Requests);
    }

    private sealed class Listener : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;

        private Listener(WebApplication app) => _app = app;

        public int Port { get; private set; }

        public int Requests => _requests;

        public static async Task<Listener> StartAsync(string address, Func<HttpContext, IResult> answer)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://{address}:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var listener = new Listener(app);
            app.Run(async context =>
            {
                Interlocked.Increment(ref listener._requests);
                await answer(context).ExecuteAsync(context);
            });
            await app.StartAsync();
            listener.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
            return listener;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}

/// <summary>
/// The guard in the product: a channel or server naming an address the policy refuses (cloud metadata, link-local),
/// in any spelling, is refused when written with the field and the reason, and nothing is stored. Names are checked
/// when connecting (OutboundGuardTests above).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OutboundGuardInProductTests(ApiFixture api)
{
    public static TheoryData<string, string, string> Channels() => new()
    {
        { "webhook", """{"url":"http://169.254.169.254/latest/meta-data/"}""", "config.url" },
        { "webhook", """{"url":"http://0xa9fea9fe/"}""", "config.url" },
        { "webhook", """{"url":"http://user:pw@169.254.169.254/"}""", "config.url" },
        { "webhook", """{"url":"http://[::ffff:169.254.169.254]/"}""", "config.url" },
        { "webhook", """{"url":"http://[fe80::1]/"}""", "config.url" },
        { "slack", """{"webhookUrl":"http://2852039166/hooks"}""", "config.webhookUrl" },
        { "email", """{"host":"169.254.169.254","port":25,"security":"none","from":"a@example.com","to":["b@example.com"]}""", "config.host" },
    };

    [Theory]
    [MemberData(nameof(Channels))]
    public async Task A_channel_to_the_metadata_address_is_refused_when_written(string type, string config, string field)
    {
        var id = "meta-" + Guid.NewGuid().ToString("N")[..8];
        var response = await api.Http.PostJsonAsync("/api/channels", $$"""{"id":"{{id}}","type":"{{type}}","config":{{config}} }""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), problem.ToString());
        Assert.Contains("link-local", messages[0].GetString());
        Assert.DoesNotContain("pw", problem.ToString()); // the URL's user info is not echoed
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/channels/{id}")).StatusCode);
    }

    [Theory]
    [InlineData("endpoint", "http://169.254.169.254/mcp")]
    [InlineData("healthUrl", "http://0251.0376.0251.0376/health")]
    [InlineData("metricsUrl", "http://169.254.169.254/metrics")]
    public async Task A_server_at_the_metadata_address_is_refused_when_written(string field, string url)
    {
        var id = "meta-" + Guid.NewGuid().ToString("N")[..8];
        var endpoint = field == "endpoint" ? url : "http://127.0.0.1:9/mcp";
        var extra = field == "endpoint" ? "" : $",\"{field}\":\"{url}\"";
        var response = await api.Http.PostJsonAsync("/api/servers", $$"""{"id":"{{id}}","name":"M","endpoint":"{{endpoint}}"{{extra}},"labels":{"t":"{{id}}"} }""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.Contains("link-local", errors.GetProperty(field)[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/servers/{id}")).StatusCode);

        // An existing server cannot be moved there either.
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/servers",
            $$"""{"id":"{{id}}","name":"M","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""")).StatusCode);
        var update = await api.Http.PutAsync($"/api/servers/{id}", new StringContent(
            $$"""{"name":"M","endpoint":"{{endpoint}}"{{extra}},"labels":{"t":"{{id}}"},"probe":{"enabled":false} }""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, update.StatusCode);
        Assert.Equal("http://127.0.0.1:9/mcp", (await (await api.Http.GetAsync($"/api/servers/{id}")).JsonAsync()).GetProperty("endpoint").GetString());
    }
}
