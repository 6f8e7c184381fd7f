using System.Net;
using System.Text;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Slo;

/// <summary>
/// Objectives through the product, on the fake clock, to a real webhook receiver: a slow error leak gets a ticket and
/// no page; a sharp outage pages within the 5-minute window; the rows, the listing, the console page and a server's
/// long-range summary say the same; bad input is refused and changes nothing.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class SloApiTests(ApiFixture api)
{
    /// <summary>Alerts labelled with this scenario's id go to its webhook, grouped by server and urgency, at once.</summary>
    private static async Task RouteAsync(ApiScenario s)
    {
        await s.WebhookChannelAsync($"slo-{s.Id}", "slo");
        var response = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{s.Id}}"],"receiver":"slo-{{s.Id}}","groupBy":["server","urgency"],"groupWait":"0s","groupInterval":"1m"}]},
             "receivers":[{"name":"slo-{{s.Id}}","channels":["slo-{{s.Id}}"]}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Pushes requests with their own timestamps: <paramref name="errors"/> of each <paramref name="count"/> failed.</summary>
    private async Task PushAsync(ApiScenario s, string server, IEnumerable<(DateTimeOffset At, int Count, int Errors)> spans)
    {
        var records = new List<string>();
        foreach (var (at, count, errors) in spans)
        {
            for (var i = 0; i < count; i++)
            {
                records.Add($$"""{"method":"tools/call","tool":"search","durationMs":{{40 + i % 7 * 10}},"success":{{(i < errors ? "false" : "true")}},"timestamp":"{{at:O}}"}""");
            }
        }
        foreach (var chunk in records.Chunk(100))
        {
            var response = await s.Http.PostJsonAsync($"/api/servers/{server}/telemetry", $$"""{"requests":[{{string.Join(",", chunk)}}]}""");
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        }
    }

    private static IEnumerable<JsonElement> Alerts(IEnumerable<ReceivedHook> hooks) =>
        hooks.SelectMany(h => h.Body.GetProperty("incident").GetProperty("alerts").EnumerateArray());

    private static string Label(JsonElement alert, string name) => alert.GetProperty("labels").TryGetProperty(name, out var v) ? v.GetString()! : "";

    [Fact]
    public async Task A_slow_leak_gets_a_ticket_and_no_page_and_a_sharp_outage_pages_within_five_minutes()
    {
        var s = new ApiScenario(api);
        await RouteAsync(s);
        string leak = $"leak-{s.Id}", outage = $"outage-{s.Id}";
        await s.ServerAsync(leak);
        await s.ServerAsync(outage);
        var now = api.Time.GetUtcNow();
        // Three days of a 2% leak (4x the budget of 99.5%), 100 requests an hour; two healthy hours on the other.
        await PushAsync(s, leak, Enumerable.Range(0, 72).Select(h => (now.AddHours(-h).AddMinutes(-1), 100, 2)));
        await PushAsync(s, outage, Enumerable.Range(0, 12).Select(i => (now.AddMinutes(-10 * i - 1), 100, 0)));

        var created = await s.Http.PostJsonAsync("/api/slos", $$"""
            {"id":"avail-{{s.Id}}","name":"Search availability","selector":{"t":"{{s.Id}}"},"indicator":"availability","objective":99.5,"window":"30d","labels":{"t":"{{s.Id}}","team":"search"} }
            """);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        // The leak: a ticket (1d and 2h at 4x), said at once through the routing tree.
        await s.WaitForHooksAsync("slo", 1);
        var ticket = Assert.Single(Alerts(s.Hooks("slo")));
        Assert.Equal(("ErrorBudgetBurn", leak, "ticket", "warning", "1d", "2h", "search"),
            (Label(ticket, "alertname"), Label(ticket, "server"), Label(ticket, "urgency"), Label(ticket, "severity"), Label(ticket, "long"), Label(ticket, "short"), Label(ticket, "team")));

        // The outage: every request failing from now. It pages within the 5-minute window (the objective reads every minute).
        var outageAt = api.Time.GetUtcNow();
        var moved = await s.AdvanceUntilAsync(async () =>
        {
            await PushAsync(s, outage, [(api.Time.GetUtcNow(), 40, 40)]);
            await Task.Delay(100);
            return Alerts(s.Hooks("slo")).Any(a => Label(a, "server") == outage && Label(a, "urgency") == "page");
        }, "the outage's page", step: TimeSpan.FromMinutes(1), limit: TimeSpan.FromMinutes(5));
        Assert.True(moved <= TimeSpan.FromMinutes(5), $"paged after {moved}");
        var page = Alerts(s.Hooks("slo")).First(a => Label(a, "server") == outage && Label(a, "urgency") == "page");
        // Whichever of the page's pairs holds first: 6h and 30m here, since the hour before held 600 good requests.
        Assert.Equal("critical", Label(page, "severity"));
        Assert.Contains($"{Label(page, "long")}/{Label(page, "short")}", new[] { "1h/5m", "6h/30m" });
        Assert.DoesNotContain(Alerts(s.Hooks("slo")), a => Label(a, "server") == leak && Label(a, "urgency") == "page");

        // The rows say why: the leak's budget is overspent at 4x, the outage burns at the top of the scale over 5m.
        var view = await (await s.Http.GetAsync($"/api/slos/avail-{s.Id}")).JsonAsync();
        var rows = view.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("server").GetString()!);
        Assert.Equal(7_200, rows[leak].GetProperty("events").GetInt64());
        Assert.Equal(-3, rows[leak].GetProperty("budgetRemaining").GetDouble(), 9);
        Assert.Equal(4, rows[leak].GetProperty("burnRates").GetProperty("1d").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, rows[leak].GetProperty("page").ValueKind);
        Assert.Equal(JsonValueKind.Object, rows[outage].GetProperty("page").ValueKind);
        Assert.True(rows[outage].GetProperty("burnRates").GetProperty("5m").GetDouble() > 14.4);
        // The leak's ticket, the outage's page, and the outage's ticket too (its day burns above 3x): an inhibit rule
        // from page to ticket, as the docs show, keeps that one quiet.
        Assert.Equal(3, view.GetProperty("firing").GetInt32());

        // The listing: least budget first, and the console page says the same.
        var listed = await (await s.Http.GetAsync("/api/slos")).JsonAsync();
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == $"avail-{s.Id}");
        var console = await (await s.Http.GetAsync($"/slos?id=avail-{s.Id}")).Content.ReadAsStringAsync();
        Assert.Contains("Search availability", console);
        Assert.Contains("ticket (1d/2h)", console);
        Assert.Contains("page (", console);
        Assert.True(console.IndexOf(outage, StringComparison.Ordinal) < console.IndexOf(leak, StringComparison.Ordinal) == rows[outage].GetProperty("budgetRemaining").GetDouble() < -3);

        // Deleting the objective resolves its alerts.
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/slos/avail-{s.Id}")).StatusCode);
        await Eventually.TrueAsync(async () => (await (await s.Http.GetAsync($"/api/v2/alerts?filter=slo%3D%22avail-{s.Id}%22")).JsonAsync()).GetArrayLength() == 0, "the alerts to end");
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/slos/avail-{s.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_servers_summary_reads_its_long_range_history_and_the_server_page_charts_it()
    {
        var s = new ApiScenario(api);
        await s.ServerAsync();
        var now = api.Time.GetUtcNow();
        // 100 requests an hour for three days, 2 of them failed; each hour's durations are 40 to 100 ms.
        await PushAsync(s, s.ServerId, Enumerable.Range(0, 72).Select(h => (now.AddHours(-h).AddMinutes(-1), 100, 2)));

        var day = await (await s.Http.GetAsync($"/api/servers/{s.ServerId}/summary?window=24h")).JsonAsync();
        var week = await (await s.Http.GetAsync($"/api/servers/{s.ServerId}/summary?window=7d")).JsonAsync();
        Assert.InRange(day.GetProperty("requests").GetInt64(), 2_400, 2_500); // 24 hours, to the half hour at the far end
        Assert.Equal(7_200, week.GetProperty("requests").GetInt64());
        Assert.Equal(144, week.GetProperty("errors").GetInt64());
        Assert.Equal(0.02, week.GetProperty("errorRate").GetDouble(), 9);
        Assert.InRange(week.GetProperty("averageMs").GetDouble(), 69, 71); // 40..100 ms evenly: 70 on average (to the millisecond)
        Assert.InRange(week.GetProperty("p95Ms").GetDouble(), 50, 100);
        Assert.Equal(72, week.GetProperty("hours").GetArrayLength());
        Assert.Equal(72 * 60, week.GetProperty("measuredSeconds").GetInt64()); // one minute of data an hour: the rest was never measured
        Assert.Equal(JsonValueKind.Null, week.GetProperty("availability").ValueKind); // no probes: unknown, not 100%
        Assert.Equal("search", week.GetProperty("tools")[0].GetProperty("tool").GetString());

        var page = await (await s.Http.GetAsync($"/servers/{s.ServerId}?window=7d")).Content.ReadAsStringAsync();
        Assert.Contains("Over 7d", page);
        Assert.Contains("aria-label=\"requests and errors per hour\"", page);
        Assert.Contains("<b>error rate</b>2%", page);

        var bad = await s.Http.GetAsync($"/api/servers/{s.ServerId}/summary?window=1y");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Contains("24h, 7d, 30d", await bad.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/servers/nobody-{s.Id}/summary")).StatusCode);
    }

    [Theory]
    [InlineData("""{"id":"x","objective":101}""", "objective")]
    [InlineData("""{"id":"x"}""", "objective")]
    [InlineData("""{"id":"x","objective":99,"window":"7d"}""", "window")]
    [InlineData("""{"id":"x","objective":99,"indicator":"latency"}""", "latencyThreshold")]
    [InlineData("""{"id":"x","objective":99,"indicator":"latency","latencyThreshold":"300ms"}""", "latencyThreshold")]
    [InlineData("""{"id":"x","objective":99,"indicator":"speed"}""", "indicator")]
    [InlineData("""{"id":"x","objective":99,"labels":{"severity":"low"}}""", "labels.severity")]
    [InlineData("""{"id":"x","objective":99,"pageFactors":[14.4]}""", "pageFactors")]
    [InlineData("""{"id":"x","objective":99,"indicator":"probe","tool":"search"}""", "tool")]
    [InlineData("""{"id":"x","objective":99,"minEvents":-1}""", "minEvents")]
    public async Task Bad_input_is_refused_saying_where_and_changes_nothing(string body, string field)
    {
        var id = $"bad-{Guid.NewGuid():N}"[..16];
        var response = await api.Http.PostJsonAsync("/api/slos", body.Replace("\"x\"", $"\"{id}\""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"\"{field}\"", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/slos/{id}")).StatusCode);
    }
}
