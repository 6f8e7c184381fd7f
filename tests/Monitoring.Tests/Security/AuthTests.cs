using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monitoring.Security;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>The API with keys configured (by their hashes), as production runs it.</summary>
public sealed class SecuredApiFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string Reader = "mcpk_aaaaaaaaaaaa_reader-key-for-the-tests";
    public const string Operator = "mcpk_bbbbbbbbbbbb_operator-key-for-the-tests";
    public const string Admin = "mcpk_cccccccccccc_admin-key-for-the-tests";

    public CapturedLogs Logs { get; } = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Orleans:SiloPort", LocalPorts.Free().ToString());
        builder.UseSetting("Orleans:GatewayPort", LocalPorts.Free().ToString());
        builder.UseSetting("Orleans:ClusterId", "auth-tests-" + Guid.NewGuid().ToString("N")[..8]);
        var i = 0;
        foreach (var (name, role, key) in new[] { ("reader", "Reader", Reader), ("operator", "Operator", Operator), ("admin", "Admin", Admin) })
        {
            builder.UseSetting($"Auth:Keys:{i}:Name", name);
            builder.UseSetting($"Auth:Keys:{i}:Role", role);
            builder.UseSetting($"Auth:Keys:{i}:Hash", KeyMaterial.Hash(key));
            i++;
        }
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
    }

    public HttpClient As(string? key, bool followRedirects = true)
    {
        var http = CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = followRedirects });
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}

[CollectionDefinition(Name)]
public sealed class SecuredApiCollection : ICollectionFixture<SecuredApiFixture>
{
    public const string Name = "secured-api";
}

/// <summary>Every endpoint × every role, plus no key, a wrong key and a revoked key; ingest tokens; no key in any log.</summary>
[Collection(SecuredApiCollection.Name)]
public sealed class AuthTests(SecuredApiFixture api)
{
    /// <summary>Open to anyone: health, metrics, and iCal feeds (their secret URL is the credential; see CalendarFeedTests).</summary>
    private static readonly HashSet<string> Open =
    [
        "/health/live", "/health/ready", "/metrics", "/-/healthy", "/-/ready", "/ical/{token}",
        "/ping/{token}", "/ping/{token}/start", "/ping/{token}/fail", "/ping/{token}/{code:int}",
    ];

    private List<(string Method, string Pattern)> Endpoints() =>
        [.. api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e.RoutePattern.RawText!)))
            .Where(e => !e.Item2.StartsWith("/dashboard", StringComparison.Ordinal) && e.Item2 != Monitoring.Api.Security.AuthMiddleware.SlackCallbackPath)
            .Distinct()];

    /// <summary>The console's pages (Razor Pages): they take a session cookie, not a key; see the test below and Console/.</summary>
    private List<string> ConsolePages() =>
        [.. api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor>() is not null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).Distinct()];

    [Fact]
    public async Task Every_console_page_sends_a_visitor_without_a_session_to_sign_in_and_refuses_their_posts()
    {
        var pages = ConsolePages();
        Assert.True(pages.Count >= 10, $"only {pages.Count} console pages found");
        using var none = api.As(null, followRedirects: false);
        using var key = api.As(SecuredApiFixture.Admin, followRedirects: false); // a key is not a session: the console ignores it
        foreach (var pattern in pages)
        {
            var url = pattern.Replace("{id}", "inc-00000000000000000000").Replace("{section?}", "rules").Replace("{token}", "x");
            foreach (var client in new[] { none, key })
            {
                using var get = await client.GetAsync(url);
                if (url.StartsWith("/signin", StringComparison.Ordinal) || url.StartsWith("/actions/", StringComparison.Ordinal))
                {
                    Assert.True(get.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{url}: {(int)get.StatusCode}"); // open pages
                    continue;
                }
                Assert.True(get.StatusCode == HttpStatusCode.Redirect, $"GET {url}: {(int)get.StatusCode}");
                Assert.StartsWith("/signin?returnUrl=", get.Headers.Location?.OriginalString);
                using var post = await client.PostAsync(url, new FormUrlEncodedContent([]));
                Assert.True(post.StatusCode == HttpStatusCode.Unauthorized, $"POST {url}: {(int)post.StatusCode}");
            }
        }
        // Slack's callback takes no key either: it must carry Slack's signature.
        using var slack = await none.PostAsync(Monitoring.Api.Security.AuthMiddleware.SlackCallbackPath, new StringContent("payload=%7B%7D", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.Unauthorized, slack.StatusCode);
        Assert.Contains("Slack signature", await slack.Content.ReadAsStringAsync());
    }

    private static string Url(string pattern) => pattern
        .Replace("{kind}", "alert").Replace("{tokenId}", "t1").Replace("{id}", "r1:s1").Replace("{**path}", "x").Replace("{code:int}", "0").TrimEnd('/') is { Length: > 0 } url ? url : "/";

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, string method, string pattern)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Url(pattern));
        if (method is "POST" or "PUT") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Every_endpoint_answers_each_role_as_the_role_table_says()
    {
        var endpoints = Endpoints();
        Assert.True(endpoints.Count >= 40, $"only {endpoints.Count} endpoints found");
        using var none = api.As(null, followRedirects: false); // an open endpoint answers itself, never "sign in first"
        using var wrong = api.As("mcpk_000000000000_not-a-key");
        using var garbage = api.As("let me in");
        using var reader = api.As(SecuredApiFixture.Reader);
        using var @operator = api.As(SecuredApiFixture.Operator);
        using var admin = api.As(SecuredApiFixture.Admin);
        var failures = new List<string>();
        void Expect(bool ok, string who, string method, string pattern, HttpStatusCode status)
        {
            if (!ok) failures.Add($"{who} {method} {pattern}: {(int)status}");
        }
        foreach (var (method, pattern) in endpoints)
        {
            // The URL really is one of this endpoint's, so a 404 below is the endpoint's answer, not a missed route.
            var matcher = new Microsoft.AspNetCore.Routing.Template.TemplateMatcher(
                Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(pattern.TrimStart('/')), new RouteValueDictionary());
            Assert.True(matcher.TryMatch(Url(pattern), new RouteValueDictionary()), $"{Url(pattern)} does not match {pattern}");
            var open = Open.Contains(pattern);
            var required = Monitoring.Api.Security.AuthMiddleware.Required(method, pattern);
            var anonymous = await SendAsync(none, method, pattern);
            Expect(open ? anonymous is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.Redirect) : anonymous == HttpStatusCode.Unauthorized, "no key", method, pattern, anonymous);
            if (open) continue;
            foreach (var (who, client) in new[] { ("wrong key", wrong), ("garbage", garbage) })
            {
                var status = await SendAsync(client, method, pattern);
                Expect(status == HttpStatusCode.Unauthorized, who, method, pattern, status);
            }
            foreach (var (who, client, role) in new[] { ("reader", reader, Role.Reader), ("operator", @operator, Role.Operator), ("admin", admin, Role.Admin) })
            {
                if (method == "DELETE" && pattern.StartsWith("/api/keys", StringComparison.Ordinal) && role == Role.Admin) continue; // would revoke nothing, but skip writes to keys
                var status = await SendAsync(client, method, pattern);
                var allowed = role >= required;
                Expect(allowed ? status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) : status == HttpStatusCode.Forbidden, who, method, pattern, status);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The table itself: reads for readers, acting on alerts for operators, configuration for admins.
        Assert.Equal(Role.Reader, Monitoring.Api.Security.AuthMiddleware.Required("GET", "/api/alerts/{id}"));
        Assert.Equal(Role.Operator, Monitoring.Api.Security.AuthMiddleware.Required("POST", "/api/alerts/{id}/ack"));
        Assert.Equal(Role.Operator, Monitoring.Api.Security.AuthMiddleware.Required("POST", "/api/silences/"));
        Assert.Equal(Role.Admin, Monitoring.Api.Security.AuthMiddleware.Required("POST", "/api/rules/"));
        Assert.Equal(Role.Admin, Monitoring.Api.Security.AuthMiddleware.Required("PUT", "/api/channels/{id}"));
        Assert.Equal(Role.Sender, Monitoring.Api.Security.AuthMiddleware.Required("POST", "/api/v2/alerts"));
        Assert.Equal(Role.Operator, Monitoring.Api.Security.AuthMiddleware.Required("POST", "/api/v2/silences"));
    }

    [Fact]
    public async Task A_key_made_through_the_api_works_until_it_is_revoked_and_is_shown_only_once()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var created = await admin.PostJsonAsync("/api/keys", """{"name":"ci-bot","role":"operator"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.JsonAsync();
        var key = body.GetProperty("key").GetString()!;
        Assert.StartsWith(KeyMaterial.ApiKeyPrefix, key);

        using var bot = api.As(key);
        Assert.Equal(HttpStatusCode.OK, (await bot.GetAsync("/api/rules")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bot.PostJsonAsync("/api/rules", "{}")).StatusCode);
        var listed = await (await admin.GetAsync("/api/keys")).Content.ReadAsStringAsync();
        Assert.Contains("ci-bot", listed);
        Assert.DoesNotContain(key, listed);
        Assert.DoesNotContain("sha256", listed);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/keys/{body.GetProperty("id").GetString()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bot.GetAsync("/api/rules")).StatusCode);
        Assert.Contains("\"role:", (await (await admin.PostJsonAsync("/api/keys", """{"name":"x","role":"root"}""")).Content.ReadAsStringAsync()).Replace("\"role\":", "\"role:"));
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(key) || line.Contains(SecuredApiFixture.Admin));
    }

    [Fact]
    public async Task A_persons_key_acts_as_that_person_whatever_the_body_says()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var id = Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/users", $$"""{"id":"fay-{{id}}","name":"Fay"}""")).StatusCode);
        var unknown = await admin.PostJsonAsync("/api/keys", $$"""{"name":"nobody-{{id}}","role":"operator","user":"nobody-{{id}}"}""");
        Assert.Contains($"unknown user 'nobody-{id}'", await unknown.AssertProblemAsync(400));
        Assert.DoesNotContain($"nobody-{id}", await (await admin.GetAsync("/api/keys")).Content.ReadAsStringAsync()); // nothing made

        var created = await (await admin.PostJsonAsync("/api/keys", $$"""{"name":"fay-laptop-{{id}}","role":"operator","user":"fay-{{id}}"}""")).JsonAsync();
        Assert.Equal($"fay-{id}", created.GetProperty("user").GetString());
        var listed = (await (await admin.GetAsync("/api/keys")).JsonAsync()).GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == $"fay-laptop-{id}");
        Assert.Equal($"fay-{id}", listed.GetProperty("user").GetString());

        // A firing alert, acknowledged with Fay's key and someone else's name in the body: it is Fay who acknowledged.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/servers", $$"""{"id":"s-{{id}}","name":"S","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/rules", $$"""{"id":"r-{{id}}","name":"Errors","condition":"error_rate > 0.05","cooldown":"0s","selector":{"t":"{{id}}"},"channels":[]}""")).StatusCode);
        using var fay = api.As(created.GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await fay.PostJsonAsync($"/api/servers/s-{id}/telemetry", """{"requests":[{"method":"tools/call","tool":"t","durationMs":5,"success":false}]}""")).StatusCode);
        var alert = $"r-{id}:s-{id}";
        await Eventually.TrueAsync(async () => (await (await admin.GetAsync($"/api/alerts/{alert}")).JsonAsync()).GetProperty("status").GetString() == "firing", "the alert to fire");
        Assert.Equal(HttpStatusCode.OK, (await fay.PostJsonAsync($"/api/alerts/{alert}/ack", """{"by":"mallory"}""")).StatusCode);
        Assert.Equal($"fay-{id} (key fay-laptop-{id})", (await (await admin.GetAsync($"/api/alerts/{alert}")).JsonAsync()).GetProperty("acknowledgedBy").GetString());

        // A key of nobody in particular still acts as the body says.
        Assert.Equal(HttpStatusCode.OK, (await api.As(SecuredApiFixture.Operator).PostJsonAsync($"/api/alerts/{alert}/resolve", """{"by":"ops-script"}""")).StatusCode);
        // The condition still holds, so the alert may fire again at once (cooldown 0s): the resolve is not always last.
        var reasons = (await (await admin.GetAsync($"/api/alerts/{alert}")).JsonAsync()).GetProperty("transitions").EnumerateArray()
            .Select(t => t.GetProperty("reason").GetString()!).ToList();
        var resolved = reasons.FindIndex(r => r.Contains("ops-script"));
        Assert.True(resolved >= 1, string.Join("\n", reasons));
        Assert.Contains($"fay-{id} (key fay-laptop-{id})", reasons[resolved - 1]);
    }

    [Fact]
    public async Task An_ingest_token_pushes_telemetry_for_its_own_server_only()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var id = Guid.NewGuid().ToString("N")[..8];
        foreach (var server in new[] { $"a-{id}", $"b-{id}" })
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/servers",
                $$"""{"id":"{{server}}","name":"S","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false} }""")).StatusCode);
        }
        var token = (await (await admin.PostAsync($"/api/servers/a-{id}/ingest-tokens", null)).JsonAsync()).GetProperty("token").GetString()!;
        using var agent = api.As(token);
        const string push = """{"requests":[{"method":"tools/call","tool":"search","durationMs":12,"success":true}]}""";
        Assert.Equal(HttpStatusCode.Accepted, (await agent.PostJsonAsync($"/api/servers/a-{id}/telemetry", push)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync($"/api/servers/b-{id}/telemetry", push)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/api/servers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync($"/api/servers/nope-{id}/telemetry", push)).StatusCode);
    }
}

/// <summary>The audit log: who changed what, when, before and after, with no secret; only admins read it.</summary>
[Collection(SecuredApiCollection.Name)]
public sealed class AuditTests(SecuredApiFixture api)
{
    [Fact]
    public async Task Configuration_changes_are_recorded_without_secrets_and_only_admins_read_them()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var id = "audited-" + Guid.NewGuid().ToString("N")[..8];
        const string password = "smtp-pass-for-audit-77";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/channels",
            $$"""{"id":"{{id}}","type":"email","config":{"host":"127.0.0.1","port":2525,"security":"starttls","username":"u","password":"{{password}}","from":"a@example.com","to":["b@example.com"]} }""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutJsonAsync($"/api/channels/{id}",
            """{"type":"email","config":{"host":"127.0.0.2","port":2525,"security":"starttls","username":"u","from":"a@example.com","to":["b@example.com"]}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutJsonAsync($"/api/channels/{id}", """{"type":"email","config":{}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/channels/{id}")).StatusCode);

        var response = await admin.GetAsync($"/api/audit?kind=channel&resourceId={id}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(password, text);
        var entries = (await response.JsonAsync()).GetProperty("items").EnumerateArray().Reverse().ToList();
        Assert.Equal(["POST /api/channels/", "PUT /api/channels/{id}", "DELETE /api/channels/{id}"], entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e => Assert.Equal("admin", e.GetProperty("actor").GetString()));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, entries[0].GetProperty("before").ValueKind);
        Assert.Equal("127.0.0.1", entries[1].GetProperty("before").GetProperty("config").GetProperty("host").GetString());
        Assert.Equal("127.0.0.2", entries[1].GetProperty("after").GetProperty("config").GetProperty("host").GetString());
        Assert.Equal("<redacted>", entries[1].GetProperty("after").GetProperty("config").GetProperty("password").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, entries[2].GetProperty("after").ValueKind);

        using var reader = api.As(SecuredApiFixture.Reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync("/api/keys")).StatusCode);
    }
}

/// <summary>ASP.NET Core rate limiting, one fixed window per key: past the limit, 429; other keys are not affected.</summary>
[Collection(SecuredApiCollection.Name)]
public sealed class RateLimitTests(SecuredApiFixture api)
{
    [Fact]
    public async Task Each_key_has_its_own_budget()
    {
        await using var limited = api.WithWebHostBuilder(builder => builder.UseSetting("Auth:RequestsPerMinute", "3"));
        using var reader = limited.CreateClient();
        reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SecuredApiFixture.Reader);
        using var admin = limited.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SecuredApiFixture.Admin);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++) statuses.Add((await reader.GetAsync("/api/rules")).StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/rules")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/health/ready")).StatusCode); // open endpoints are not counted
    }
}
