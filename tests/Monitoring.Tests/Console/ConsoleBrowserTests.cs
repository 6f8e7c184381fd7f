using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Monitoring.Security;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Console;

/// <summary>
/// The product as its own process with API keys, and Debian's Chromium driven by Playwright (by its executable path:
/// nothing is downloaded). A small fleet with one failing server, routed to an incident.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string Admin = "mcpk_aaaaaaaaaaaa_console-admin-key";
    public const string Operator = "mcpk_bbbbbbbbbbbb_console-operator-key";
    public const string Reader = "mcpk_cccccccccccc_console-reader-key";
    public const string OperatorName = "oncall-operator";

    /// <summary>The operator's key belongs to a person, Olga: the console acts as her.</summary>
    public const string OperatorPerson = "olga";

    public const string OperatorActor = $"{OperatorPerson} (key {OperatorName})";
    public const int Servers = 12;

    public EmbeddedApiProcess Api { get; private set; } = null!;
    public WebhookReceiver Hooks { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string Id { get; } = Guid.NewGuid().ToString("N")[..6];
    public string BadServer => $"search-07-{Id}";
    public string IncidentId { get; private set; } = "";
    public string BadHealth { get; private set; } = "";
    public HttpClient AdminHttp { get; private set; } = null!;

    /// <summary>Where the walk's screenshots go, with the test results.</summary>
    public static string Screenshots { get; } = Repository.PathTo("TestResults", "console");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        Hooks = await WebhookReceiver.StartAsync();
        (string, string)[] keys = [(Admin, "console-admin"), (Operator, OperatorName), (Reader, "console-reader")];
        string[] roles = ["admin", "operator", "reader"];
        Api = await EmbeddedApiProcess.StartAsync([.. keys.SelectMany((k, i) => new[]
        {
            ($"Auth__Keys__{i}__Name", k.Item2), ($"Auth__Keys__{i}__Role", roles[i]), ($"Auth__Keys__{i}__Hash", KeyMaterial.Hash(k.Item1)),
        }), ("Auth__Keys__1__User", OperatorPerson)]);
        AdminHttp = new HttpClient { BaseAddress = Api.Http.BaseAddress };
        AdminHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Admin);
        await SeedAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    private async Task SeedAsync()
    {
        async Task Send(HttpMethod method, string url, string body, HttpStatusCode expected)
        {
            using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            using var response = await AdminHttp.SendAsync(request);
            Assert.True(response.StatusCode == expected, $"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Send(HttpMethod.Post, "/api/channels", $$"""{"id":"ops","type":"webhook","config":{"url":"{{Hooks.UrlFor("/ops")}}"} }""", HttpStatusCode.Created);
        await Send(HttpMethod.Post, "/api/users", $$"""{"id":"{{OperatorPerson}}","name":"Olga","timeZone":"Europe/Berlin"}""", HttpStatusCode.Created);
        await Send(HttpMethod.Put, "/api/routing", """{"route":{"receiver":"fleet","groupBy":["alertname","server_id"],"groupWait":"0s"},"receivers":[{"name":"fleet","channels":["ops"]}]}""", HttpStatusCode.OK);
        await Send(HttpMethod.Post, "/api/rules", $$"""{"id":"errors","name":"High error rate","condition":"error_rate > 0.05","severity":"critical","message":"Error rate above 5%","selector":{"t":"{{Id}}"} }""", HttpStatusCode.Created);
        var healthy = $$"""{"requests":[{{string.Join(',', Enumerable.Repeat("""{"method":"tools/call","tool":"search","durationMs":40}""", 20))}}]}""";
        for (var i = 1; i <= Servers; i++)
        {
            var id = $"search-{i:00}-{Id}";
            await Send(HttpMethod.Post, "/api/servers", $$"""{"id":"{{id}}","name":"Search {{i:00}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{Id}}","team":"search"},"probe":{"enabled":false} }""", HttpStatusCode.Created);
            await Send(HttpMethod.Post, $"/api/servers/{id}/telemetry", id == BadServer
                ? """{"requests":[{"method":"tools/call","tool":"search","durationMs":40,"success":false},{"method":"tools/call","tool":"search","durationMs":3000,"success":false}]}"""
                : healthy, HttpStatusCode.Accepted);
        }
        await Hooks.WaitForAsync("/ops", 1, TimeSpan.FromSeconds(30));
        var incidents = await AdminHttp.GetFromJsonAsync<JsonElement>("/api/incidents?status=open");
        IncidentId = incidents.GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("groupLabels").GetProperty("server_id").GetString() == BadServer).GetProperty("id").GetString()!;
        BadHealth = (await AdminHttp.GetFromJsonAsync<JsonElement>($"/api/servers/{BadServer}")).GetProperty("health").GetProperty("status").GetString()!;
    }

    public async Task<IPage> SignedInAsync(string key, IBrowserContext? context = null)
    {
        context ??= await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Api.Http.BaseAddress!.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        Assert.Contains("/signin", page.Url);
        await page.FillAsync("input[name=key]", key);
        await page.ClickAsync("button:has-text('Sign in')");
        // Signed in once the browser has left the sign-in page; the steps after wait for what they need on the next one
        // (waiting for its whole load timed out twice under the full suite's load, and WaitForURLAsync, when the page
        // had already left before it was called, waited for a load state that never came).
        await UrlAsync(page, url => !url.Contains("/signin"), "signing in");
        return page;
    }

    /// <summary>Waits, 30 s at most, until the page's URL is one it should reach after <paramref name="what"/>.</summary>
    public static async Task UrlAsync(IPage page, Func<string, bool> reached, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!reached(page.Url))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"still on {page.Url} 30 s after {what}");
            await Task.Delay(50);
        }
    }

    public static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        AdminHttp.Dispose();
        await Api.DisposeAsync();
        await Hooks.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}

/// <summary>Walks the console as the people who use it: the operator on call, a reader, and an admin.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleBrowserTests(ConsoleFixture console)
{
    [Fact]
    public async Task The_operator_signs_in_finds_the_unhealthy_server_acknowledges_its_incident_silences_it_and_signs_out()
    {
        Assert.NotEqual("healthy", console.BadHealth);
        var page = await console.SignedInAsync(ConsoleFixture.Operator);
        var cookie = (await page.Context.CookiesAsync()).Single(c => c.Name == "mcp_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(ConsoleFixture.Operator, cookie.Value);

        // The fleet, worst first: of this fleet's twelve servers, the broken one is on top, ahead of the healthy ones
        // whose ids sort before it.
        await Assertions.Expect(page.Locator("#fleet tbody tr")).Not.ToHaveCountAsync(0);
        await ConsoleFixture.ShotAsync(page, "0-fleet");
        await page.FillAsync("input[name=label]", $"t={console.Id}");
        await page.ClickAsync("button:has-text('Filter')");
        await Assertions.Expect(page.Locator("#fleet tbody tr")).ToHaveCountAsync(ConsoleFixture.Servers);
        await Assertions.Expect(page.Locator("#fleet tbody tr").First).ToContainTextAsync(console.BadServer);
        await Assertions.Expect(page.Locator("#fleet tbody tr").Nth(1)).ToContainTextAsync("healthy");
        await page.SelectOptionAsync("select[name=health]", console.BadHealth);
        await page.FillAsync("input[name=label]", $"t={console.Id}");
        await page.ClickAsync("button:has-text('Filter')");
        var rows = page.Locator("#fleet tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(rows.First).ToContainTextAsync(console.BadServer);
        await ConsoleFixture.ShotAsync(page, "1-fleet-filtered");

        // Its page: the alert, the metrics, the window's chart and the chart of its hours.
        await page.ClickAsync($"a:has-text('Search 07')");
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("Search 07");
        await Assertions.Expect(page.Locator("table").Filter(new LocatorFilterOptions { HasText = "High error rate" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("svg#window-chart")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("svg#hour-chart")).ToHaveCountAsync(1);
        await ConsoleFixture.ShotAsync(page, "2-server");

        // Who is signed in: the operator's key, which belongs to Olga.
        await Assertions.Expect(page.Locator("#signed-in-as")).ToContainTextAsync($"{ConsoleFixture.OperatorActor} · operator");

        // Its incident. First a forged form post (no anti-forgery token) with the operator's own session: refused.
        await page.ClickAsync("header a:has-text('Incidents')");
        await page.ClickAsync($"a[href='/incidents/{console.IncidentId}']");
        var forged = await page.Context.APIRequest.PostAsync($"/incidents/{console.IncidentId}?handler=Acknowledge",
            new APIRequestContextOptions { Form = page.Context.APIRequest.CreateFormData() });
        Assert.Equal(400, forged.Status);
        Assert.Equal("open", await IncidentStatusAsync());

        await page.ClickAsync("button:has-text('Acknowledge')");
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Acknowledged");
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("acknowledged");
        await Assertions.Expect(page.Locator("#timeline")).ToContainTextAsync(ConsoleFixture.OperatorActor);
        await ConsoleFixture.ShotAsync(page, "3-incident-acknowledged");
        var incident = await console.AdminHttp.GetFromJsonAsync<JsonElement>($"/api/incidents/{console.IncidentId}");
        Assert.Equal("acknowledged", incident.GetProperty("status").GetString());
        Assert.Equal(ConsoleFixture.OperatorActor, incident.GetProperty("acknowledgedBy").GetString());

        // A silence, built from the live preview of what it would silence.
        await page.ClickAsync("header a:has-text('Silences')");
        await page.ClickAsync("a:has-text('New silence')");
        await page.Locator("#matchers").PressSequentiallyAsync($"server_id={console.BadServer}");
        await Assertions.Expect(page.Locator("#preview-table")).ToContainTextAsync($"errors:{console.BadServer}");
        await Assertions.Expect(page.Locator("#preview h2")).ToHaveTextAsync("Would silence 1 alert now");
        await page.FillAsync("input[name=comment]", "rolling back the search index");
        await ConsoleFixture.ShotAsync(page, "4-silence-preview");
        await page.ClickAsync("button:has-text('Create silence')");
        await Assertions.Expect(page.Locator("#silences")).ToContainTextAsync($"server_id=\"{console.BadServer}\"");
        await ConsoleFixture.ShotAsync(page, "5-silences");
        var silences = await console.AdminHttp.GetFromJsonAsync<JsonElement>("/api/silences?state=active");
        var silence = silences.GetProperty("items").EnumerateArray().Single(s => s.GetProperty("comment").GetString() == "rolling back the search index");
        Assert.Equal(ConsoleFixture.OperatorActor, silence.GetProperty("createdBy").GetString());

        // The route tester and the configuration views.
        await page.GotoAsync($"/config/routes?labels={Uri.EscapeDataString("alertname=High error rate\nserver_id=" + console.BadServer)}");
        await Assertions.Expect(page.Locator("#route-test")).ToContainTextAsync(console.IncidentId);
        await ConsoleFixture.ShotAsync(page, "6-routes");
        await page.GotoAsync("/config/channels");
        await Assertions.Expect(page.Locator("#channels")).ToContainTextAsync("ops");

        // Signing out ends the session: the console sends the visitor back to sign in.
        await page.ClickAsync("button:has-text('Sign out')");
        await ConsoleFixture.UrlAsync(page, url => url.Contains("/signin"), "signing out");
        await page.GotoAsync("/incidents");
        Assert.Contains("/signin", page.Url);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_operator_reads_a_schedules_two_weeks_and_creates_an_override_in_chromium()
    {
        async Task Send(string url, string body)
        {
            using var response = await console.AdminHttp.PostAsync(url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {await response.Content.ReadAsStringAsync()}");
        }
        var id = console.Id;
        foreach (var user in new[] { "ann", "ben", "cat" })
        {
            await Send("/api/users", $$"""{"id":"{{user}}-{{id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"ops"}]}""");
        }
        var start = DateTime.UtcNow.Date.AddDays(-3).ToString("yyyy-MM-dd'T'HH:mm");
        await Send("/api/schedules", $$"""
            {"id":"primary-{{id}}","name":"Primary {{id}}","timeZone":"Europe/Berlin","layers":[{"name":"daily","users":["ann-{{id}}","ben-{{id}}"],"start":"{{start}}","shift":"1d",
             "restrictions":[{"days":["mon","tue","wed","thu","fri"],"from":"00:00","to":"23:59"}]}]}
            """);

        var page = await console.SignedInAsync(ConsoleFixture.Operator);
        await page.ClickAsync("header a:has-text('On call')");
        await Assertions.Expect(page.Locator("#oncall")).ToContainTextAsync($"Primary {id}");
        await page.ClickAsync($"a:has-text('Primary {id}')");
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync($"Primary {id}");
        // Two weeks of weekday-only shifts: weekends show as gaps on the timeline.
        await Assertions.Expect(page.Locator("#timeline .gap").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#timeline .shift").First).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator("#overrides").CountAsync());

        // cat covers tomorrow morning, beside whoever is on call.
        var from = DateTime.UtcNow.Date.AddDays(1).AddHours(8);
        await page.FillAsync("input[name=user]", $"cat-{id}");
        await page.FillAsync("input[name=start]", from.ToString("yyyy-MM-dd'T'HH:mm"));
        await page.FillAsync("input[name=end]", from.AddHours(4).ToString("yyyy-MM-dd'T'HH:mm"));
        await page.ClickAsync("button:has-text('Create override')");
        await Assertions.Expect(page.Locator("#overrides")).ToContainTextAsync($"cat-{id}");
        await Assertions.Expect(page.Locator("#shifts")).ToContainTextAsync($"cat-{id}");
        await ConsoleFixture.ShotAsync(page, "5-schedule-override");
        var stored = await console.AdminHttp.GetFromJsonAsync<JsonElement>($"/api/schedules/primary-{id}");
        var added = stored.GetProperty("overrides").EnumerateArray().Single();
        Assert.Equal($"cat-{id}", added.GetProperty("user").GetString());
        Assert.Equal(new DateTimeOffset(from, TimeSpan.Zero), added.GetProperty("start").GetDateTimeOffset());

        // An override for somebody who is not a user is refused, with the reason on the page, and nothing is stored.
        await page.FillAsync("input[name=user]", $"nobody-{id}");
        await page.FillAsync("input[name=start]", from.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm"));
        await page.FillAsync("input[name=end]", from.AddDays(1).AddHours(1).ToString("yyyy-MM-dd'T'HH:mm"));
        await page.ClickAsync("button:has-text('Create override')");
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync("unknown user");
        Assert.Single((await console.AdminHttp.GetFromJsonAsync<JsonElement>($"/api/schedules/primary-{id}")).GetProperty("overrides").EnumerateArray());
    }

    [Fact]
    public async Task A_reader_sees_no_buttons_that_would_fail_and_is_refused_if_it_posts_anyway()
    {
        // On a phone.
        var phone = await console.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = console.Api.Http.BaseAddress!.ToString(), ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true,
        });
        var page = await console.SignedInAsync(ConsoleFixture.Reader, phone);
        await page.GotoAsync($"/incidents/{console.IncidentId}");
        await Assertions.Expect(page.Locator("h1")).ToBeVisibleAsync();
        await ConsoleFixture.ShotAsync(page, "7-reader-incident-on-a-phone");
        Assert.Equal(0, await page.Locator("main button").CountAsync());
        await page.GotoAsync("/silences");
        Assert.Equal(0, await page.Locator("a:has-text('New silence')").CountAsync());
        Assert.Equal(0, await page.Locator("main button").CountAsync());
        await page.GotoAsync("/alerts");
        Assert.Equal(0, await page.Locator("main button").CountAsync());
        Assert.Equal(0, await page.Locator("header a:has-text('Audit')").CountAsync());

        var status = await IncidentStatusAsync();
        // Even with a real form token (taken from a page the reader may see), acting needs an operator.
        await page.GotoAsync("/silences");
        var token = await page.Locator("input[name=__csrf]").First.GetAttributeAsync("value");
        Assert.NotNull(token);
        var form = page.Context.APIRequest.CreateFormData();
        form.Set("__csrf", token!);
        var refused = await page.Context.APIRequest.PostAsync($"/incidents/{console.IncidentId}?handler=Resolve", new APIRequestContextOptions { Form = form });
        Assert.Equal(403, refused.Status);
        Assert.Equal(status, await IncidentStatusAsync());
        Assert.Equal(403, (await page.GotoAsync("/silences/new"))!.Status);
        Assert.Equal(403, (await page.GotoAsync("/audit"))!.Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_reads_the_audit_log_and_a_bad_key_does_not_sign_in()
    {
        var context = await console.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = console.Api.Http.BaseAddress!.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await page.FillAsync("input[name=key]", "mcpk_000000000000_wrong");
        await page.ClickAsync("button:has-text('Sign in')");
        await Assertions.Expect(page.Locator(".failure")).ToContainTextAsync("not valid");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "mcp_session");
        await context.CloseAsync();

        // The routing change the fixture made is in the log, by the admin key's name.
        var admin = await console.SignedInAsync(ConsoleFixture.Admin);
        await admin.ClickAsync("header a:has-text('Audit')");
        await Assertions.Expect(admin.Locator("#audit")).ToContainTextAsync("PUT /api/routing");
        await Assertions.Expect(admin.Locator("#audit")).ToContainTextAsync("console-admin");
        await ConsoleFixture.ShotAsync(admin, "8-audit");
        await admin.Context.CloseAsync();
    }

    private async Task<string> IncidentStatusAsync() =>
        (await console.AdminHttp.GetFromJsonAsync<JsonElement>($"/api/incidents/{console.IncidentId}")).GetProperty("status").GetString()!;
}
