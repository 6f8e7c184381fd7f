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

/// <summary>The guard in the product: channels and probes that point at cloud metadata are refused, with the reason.</summary>
[Collection(ApiCollection.Name)]
public sealed class OutboundGuardInProductTests(ApiFixture api)
{
    [Fact]
    public async Task Webhooks_mail_and_probes_to_the_metadata_address_are_refused()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/channels",
            $$"""{"id":"meta-{{id}}","type":"webhook","config":{"url":"http://169.254.169.254/latest/meta-data/"} }""")).StatusCode);
        var webhook = await (await api.Http.PostAsync($"/api/channels/meta-{id}/test", null)).JsonAsync();
        Assert.False(webhook.GetProperty("delivered").GetBoolean());
        Assert.Contains("169.254.169.254 is link-local", webhook.GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/channels",
            $$"""{"id":"meta-mail-{{id}}","type":"email","config":{"host":"169.254.169.254","port":25,"security":"none","from":"a@example.com","to":["b@example.com"]} }""")).StatusCode);
        var mail = await (await api.Http.PostAsync($"/api/channels/meta-mail-{id}/test", null)).JsonAsync();
        Assert.False(mail.GetProperty("delivered").GetBoolean());
        Assert.Contains("link-local", mail.GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/servers",
            $$"""{"id":"meta-{{id}}","name":"M","endpoint":"http://169.254.169.254/mcp","labels":{"t":"{{id}}"} }""")).StatusCode);
        var status = await (await api.Http.PostAsync($"/api/servers/meta-{id}/check", null)).JsonAsync();
        Assert.True(status.GetProperty("lastProbe").GetProperty("outcome").GetString() == "blocked", status.GetProperty("lastProbe").ToString());
        Assert.Contains("link-local", status.GetProperty("lastProbe").GetProperty("error").GetString());
    }
}
