using System.Net;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Console;

/// <summary>
/// The console in the open embedded mode (no keys, as the README starts it): every page answers without signing in,
/// and hostile query strings and forms get a clear refusal, never a 500, and change nothing.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ConsolePagesTests(ApiFixture api)
{
    [Fact]
    public async Task Every_page_answers_in_the_open_mode_without_signing_in()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"hook-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["hook-{{s.Id}}"]""");
        await s.FireAsync();
        await s.WaitForHooksAsync("hook", 1);
        foreach (var (url, expected) in new[]
        {
            ("/", "Fleet"), ($"/?q={s.Id}", s.ServerId), ($"/servers/{s.ServerId}", "High error rate"), ("/incidents", "Incidents"),
            ($"/alerts?status=firing&serverId={s.ServerId}", s.AlertId), ("/silences", "Silences"), ($"/silences/new?matchers=server_id%3D{s.ServerId}", s.AlertId),
            ("/config", "High error rate"), ("/config/routes", "Routing tree"), ("/config/channels", $"hook-{s.Id}"), ("/config/policies", "Configuration"),
            ("/config/intervals", "Configuration"), ("/config/inhibitions", "Configuration"), ("/audit", "Audit log"),
        })
        {
            using var response = await api.Http.GetAsync(url);
            var html = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {html[..Math.Min(400, html.Length)]}");
            Assert.Contains(expected, html);
            Assert.StartsWith("text/html", response.Content.Headers.ContentType?.ToString());
        }
        // A channel's secrets are redacted in the console as in the API.
        await s.ChannelAsync($"sec-{s.Id}", "webhook", $$"""{"url":"{{s.Url("x")}}","signingSecret":"console-secret-value"}""");
        Assert.DoesNotContain("console-secret-value", await api.Http.GetStringAsync("/config/channels"));
    }

    [Fact]
    public async Task What_pages_comes_first_and_muted_alerts_are_counted_apart()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"hook-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["hook-{{s.Id}}"]""");
        // A second rule on the same server, silenced, and a warning rule that fires beside it.
        var rules = new[] { ($"muted-{s.Id}", "Muted rule", "critical"), ($"warn-{s.Id}", "Warning rule", "warning") };
        foreach (var (id, name, severity) in rules)
        {
            Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/rules",
                $$"""{"id":"{{id}}","name":"{{name}}","condition":"error_rate > 0.05","severity":"{{severity}}","channels":["hook-{{s.Id}}"],"cooldown":"0s","escalateAfter":"off","selector":{"t":"{{s.Id}}"} }""")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/silences",
            $$"""{"matchers":["rule_id=muted-{{s.Id}}"],"duration":"1h","createdBy":"alice","comment":"known"}""")).StatusCode);
        await s.FireAsync();
        await s.WaitForHooksAsync("hook", 2);

        // The fleet counts those that page apart from the silenced ones, as the API lists them (rules of other tests
        // that select every server may add alerts of their own).
        var expected = "";
        await Eventually.TrueAsync(async () =>
        {
            var open = (await (await api.Http.GetAsync($"/api/alerts?serverId={s.ServerId}&limit=100")).JsonAsync()).GetProperty("items").EnumerateArray()
                .Select(a => a.GetProperty("status").GetString()).Where(x => x is not ("resolved" or "inactive")).ToArray();
            var muted = open.Count(x => x is "silenced" or "suppressed");
            expected = $@"<span class=""paging"">{open.Length - muted}</span>\s*<span class=""muted""[^>]*>{muted} muted</span>";
            return muted >= 1 && open.Length - muted >= 2
                && System.Text.RegularExpressions.Regex.IsMatch(await api.Http.GetStringAsync($"/?q={s.Id}"), expected);
        }, $"the fleet counting what pages apart from what is muted ({expected})", every: TimeSpan.FromMilliseconds(200));

        // The Incidents page shows what pages outside incidents, critical before warning; never the silenced one.
        // (The listing is written as the alerts change: each page is read until it shows all three.)
        var incidents = "";
        await Eventually.TrueAsync(async () =>
        {
            incidents = await api.Http.GetStringAsync($"/incidents?q={s.Id}");
            return incidents.Contains(s.AlertId) && incidents.Contains($"warn-{s.Id}:{s.ServerId}");
        }, "both paging alerts on the Incidents page", every: TimeSpan.FromMilliseconds(200));
        Assert.Contains("Paging outside incidents", incidents);
        Assert.True(incidents.IndexOf(s.AlertId, StringComparison.Ordinal) < incidents.IndexOf($"warn-{s.Id}:{s.ServerId}", StringComparison.Ordinal),
            "the critical alert listed before the warning");
        Assert.DoesNotContain($"muted-{s.Id}:{s.ServerId}", incidents);

        // The Alerts page: firing before silenced, whatever their ids.
        var alerts = "";
        await Eventually.TrueAsync(async () =>
        {
            alerts = await api.Http.GetStringAsync($"/alerts?serverId={s.ServerId}");
            return alerts.Contains($"warn-{s.Id}:") && alerts.Contains($"muted-{s.Id}:");
        }, "both alerts on the Alerts page", every: TimeSpan.FromMilliseconds(200));
        Assert.True(alerts.IndexOf($"warn-{s.Id}:", StringComparison.Ordinal) < alerts.IndexOf($"muted-{s.Id}:", StringComparison.Ordinal), "firing before silenced");
    }

    [Fact]
    public async Task Hostile_queries_and_forms_are_refused_clearly_and_change_nothing()
    {
        var s = new ApiScenario(api);
        await s.ServerAndRuleAsync(""" "channels":[]""");
        await s.FireAsync();
        string[] refused =
        [
            "/?health=sick", "/?sort=password", "/?label=%3D%3D%3D", "/?q=" + new string('x', 300), "/?order=sideways",
            "/incidents?status=exploded", "/incidents?q=" + new string('x', 300), "/alerts?status=1", "/alerts?serverId=a%20b%0A", "/silences?state=%00", "/config/routes?labels=not%20a%20label",
            "/silences/new?matchers=%7B%7D%3D", "/actions/AAAA",
        ];
        foreach (var url in refused)
        {
            using var response = await api.Http.GetAsync(url);
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest, $"{url}: {(int)response.StatusCode}");
        }
        foreach (var url in new[] { "/servers/nope", "/incidents/inc-00000000000000000000", "/incidents/..%2F..%2Fetc", "/config/secrets", "/actions/" + new string('A', 3000) })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync(url)).StatusCode);
        }
        // A silence the form cannot make is refused with what is wrong, and none is created.
        var before = await api.Http.GetStringAsync("/api/silences");
        var form = await api.Http.GetStringAsync("/silences/new");
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        foreach (var (matchers, duration, comment, says) in new[]
        {
            ("", "2h", "c", "matchers"), ("server_id=~(", "2h", "c", "matchers[0]"), ($"server_id={s.ServerId}", "forever", "c", "duration"),
            ($"server_id={s.ServerId}", "2h", "", "comment"), ("a=~.*", "2h", "c", "match an alert with no labels"),
        })
        {
            using var response = await api.Http.PostAsync("/silences/new", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__csrf"] = WebUtility.HtmlDecode(token), ["matchers"] = matchers, ["duration"] = duration, ["comment"] = comment,
            }));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(says, WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()));
        }
        Assert.Equal(before, await api.Http.GetStringAsync("/api/silences"));
        // An offer the page does not make ("silence for 9999 hours") is refused.
        var alerts = await api.Http.GetStringAsync("/alerts");
        token = System.Text.RegularExpressions.Regex.Match(alerts, "name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        using var odd = await api.Http.PostAsync($"/alerts?handler=Silence&id={Uri.EscapeDataString(s.AlertId)}",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["__csrf"] = WebUtility.HtmlDecode(token), ["hours"] = "9999" }));
        Assert.Equal("firing", await s.StatusAsync());
    }
}
