using System.Net;
using Monitoring.Silences;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>Silences through the API: matchers, a silenced lifecycle that sends nothing, the opt-in resolved message, expiry.</summary>
[Collection(ApiCollection.Name)]
public sealed class SilenceTests(ApiFixture api)
{
    private static async Task<string> SilenceAsync(ApiScenario s, string matchers, string extra = "")
    {
        var response = await s.Http.PostJsonAsync("/api/silences",
            $$"""{"matchers":{{matchers}},"duration":"2h","createdBy":"alice","comment":"maintenance window"{{extra}} }""");
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.JsonAsync();
        Assert.Equal("active", body.GetProperty("status").GetString());
        return body.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task A_silenced_alert_keeps_its_lifecycle_and_sends_nothing()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"]""");
        var id = await SilenceAsync(s, $$"""["t={{s.Id}}", {"name":"severity","value":"critical|emergency","isRegex":true}]""");

        await s.FireAsync();
        Assert.Equal("silenced", await s.StatusAsync());
        var alert = await s.AlertAsync();
        Assert.Equal(id, alert.GetProperty("silencedBy").GetString());
        var withheld = Assert.Single(await s.NotificationsAsync());
        Assert.Equal("silenced", withheld.GetProperty("status").GetString());

        await s.ClearAsync();
        Assert.Equal("resolved", await s.StatusAsync());
        await Eventually.StaysFalseAsync(() => s.Hooks("hook").Count > 0, "nothing sent for a silenced alert");
        Assert.Equal(2, (await s.NotificationsAsync()).Count(n => n.GetProperty("status").GetString() == "silenced"));
    }

    [Fact]
    public async Task A_silence_holds_once_its_write_answers_and_the_escalation_due_next_is_withheld()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"l1-{s.Id}", "l1");
        await s.WebhookChannelAsync($"l2-{s.Id}", "l2");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/escalation-policies", $$"""
            {"id":"p-{{s.Id}}","name":"On-call","levels":[{"delay":"0s","channels":["l1-{{s.Id}}"]},{"delay":"1m","channels":["l2-{{s.Id}}"]}]}
            """)).StatusCode);
        await s.ServerAndRuleAsync($$""" "channels":[],"escalationPolicy":"p-{{s.Id}}","autoResolve":false""");
        await s.FireAsync();
        await s.WaitForHooksAsync("l1", 1);
        await s.AdvanceAsync(TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(10));
        Assert.Equal("firing", await s.StatusAsync());

        // The alert is not evaluated between the write and these reads: the write itself brought the silence to it.
        var id = await SilenceAsync(s, $$"""["server_id=s-{{s.Id}}"]""");
        var alert = await s.AlertAsync();
        Assert.Equal("silenced", alert.GetProperty("status").GetString());
        Assert.Equal(id, alert.GetProperty("silencedBy").GetString());

        // Level 2 was due 10 s later: it is recorded as silenced and never sent.
        await s.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()).Any(n => n.GetProperty("status").GetString() == "silenced"), "level 2 withheld");
        await Eventually.StaysFalseAsync(() => s.Hooks("l2").Count > 0, "no escalation after the silence");
    }

    [Fact]
    public async Task A_silence_that_opts_in_sends_the_resolved_message()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"]""");
        await SilenceAsync(s, $$"""["server_id=s-{{s.Id}}"]""", ""","sendResolved":true""");

        await s.FireAsync();
        Assert.Equal("silenced", await s.StatusAsync());
        await s.ClearAsync();
        var resolved = (await s.WaitForHooksAsync("hook", 1)).Single();
        Assert.Equal("resolved", resolved.Body.GetProperty("alert").GetProperty("status").GetString());
        await Eventually.StaysFalseAsync(() => s.Hooks("hook").Count > 1, "only the resolved message");
    }

    [Fact]
    public async Task Expiring_a_silence_lets_the_firing_alert_through_and_lists_it_as_expired()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"],"autoResolve":false""");
        var id = await SilenceAsync(s, $$"""["alertname=~High.*", "t={{s.Id}}", "env!=staging", "rule_id!~other-.*"]""");

        await s.FireAsync();
        Assert.Equal("silenced", await s.StatusAsync());
        var active = await (await s.Http.GetAsync("/api/silences?state=active")).JsonAsync();
        Assert.Contains(active.GetProperty("items").EnumerateArray(), x => x.GetProperty("id").GetString() == id);

        var expired = await s.Http.DeleteAsync($"/api/silences/{id}");
        Assert.Equal(HttpStatusCode.OK, expired.StatusCode);
        Assert.Equal("expired", (await expired.JsonAsync()).GetProperty("status").GetString());
        await s.FireAsync(); // the next evaluation sees the silence gone
        var hook = (await s.WaitForHooksAsync("hook", 1)).Single();
        Assert.Equal("firing", hook.Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal("firing", await s.StatusAsync());

        var listed = await (await s.Http.GetAsync("/api/silences?state=expired")).JsonAsync();
        var silence = Assert.Single(listed.GetProperty("items").EnumerateArray(), x => x.GetProperty("id").GetString() == id);
        Assert.Equal("alice", silence.GetProperty("createdBy").GetString());
        Assert.Equal("maintenance window", silence.GetProperty("comment").GetString());
        Assert.Equal("alertname=~\"High.*\"", silence.GetProperty("matchers")[0].GetProperty("text").GetString());
        await (await s.Http.DeleteAsync($"/api/silences/{id}")).AssertProblemAsync(409);
    }

    [Fact]
    public async Task A_silence_that_ends_on_its_own_lets_the_alert_notify()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"],"autoResolve":false""");
        var response = await s.Http.PostJsonAsync("/api/silences", $$"""{"matchers":["t={{s.Id}}"],"duration":"10m","createdBy":"alice","comment":"deploy"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        await s.FireAsync();
        Assert.Equal("silenced", await s.StatusAsync());
        await s.AdvanceUntilAsync(async () => (await s.NotificationsAsync()).Any(n => n.GetProperty("status").GetString() != "silenced"),
            "the firing message after the silence", TimeSpan.FromMinutes(1));
        var records = await s.NotificationsAsync();
        var withheld = records.Single(n => n.GetProperty("status").GetString() == "silenced").GetProperty("recordedAt").GetDateTimeOffset();
        var sent = records.Single(n => n.GetProperty("status").GetString() != "silenced").GetProperty("recordedAt").GetDateTimeOffset();
        Assert.InRange(sent - withheld, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(12));
        Assert.Equal("firing", (await s.WaitForHooksAsync("hook", 1)).Single().Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Contains((await s.AlertAsync()).GetProperty("transitions").EnumerateArray(), t => t.GetProperty("reason").GetString() == "silence ended");
    }

    [Theory]
    [InlineData("""{"matchers":[],"duration":"1h","createdBy":"a","comment":"c"}""", "matchers")]
    [InlineData("""{"matchers":["severity=~(critical"],"duration":"1h","createdBy":"a","comment":"c"}""", "matchers[0].value")]
    [InlineData("""{"matchers":["9bad=x"],"duration":"1h","createdBy":"a","comment":"c"}""", "matchers[0]")]
    [InlineData("""{"matchers":["env=~.*"],"duration":"1h","createdBy":"a","comment":"c"}""", "matchers")]
    [InlineData("""{"matchers":["env=prod"],"createdBy":"a","comment":"c"}""", "endsAt")]
    [InlineData("""{"matchers":["env=prod"],"endsAt":"2001-01-01T00:00:00Z","startsAt":"2000-01-01T00:00:00Z","createdBy":"a","comment":"c"}""", "endsAt")]
    [InlineData("""{"matchers":["env=prod"],"duration":"1h","comment":"c"}""", "createdBy")]
    [InlineData("""{"matchers":["env=prod"],"duration":"1h","createdBy":"a"}""", "comment")]
    [InlineData("""{"matchers":[{"name":"env"}],"duration":"1h","createdBy":"a","comment":"c"}""", "matchers[0].value")]
    public async Task Invalid_silences_are_refused_and_not_created(string body, string field)
    {
        var before = (await (await api.Http.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32();
        Assert.Contains(field + ":", await (await api.Http.PostJsonAsync("/api/silences", body)).AssertProblemAsync(400));
        Assert.Equal(before, (await (await api.Http.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData(MatchOperator.Equal, "prod", true)]
    [InlineData(MatchOperator.Equal, "pro", false)]
    [InlineData(MatchOperator.NotEqual, "staging", true)]
    [InlineData(MatchOperator.Regex, "pr.d", true)]
    [InlineData(MatchOperator.Regex, "pr", false)] // anchored at both ends, as in Prometheus
    [InlineData(MatchOperator.NotRegex, "st.*", true)]
    [InlineData(MatchOperator.NotRegex, "p.*", false)]
    public void Matchers_follow_alertmanager(MatchOperator op, string value, bool matches) =>
        Assert.Equal(matches, new Matcher("env", op, value).Matches(new Dictionary<string, string> { ["env"] = "prod" }));

    [Fact]
    public void A_missing_label_matches_as_empty()
    {
        Assert.True(new Matcher("team", MatchOperator.Equal, "").Matches(new Dictionary<string, string>()));
        Assert.True(new Matcher("team", MatchOperator.NotEqual, "db").Matches(new Dictionary<string, string>()));
        Assert.False(new Matcher("team", MatchOperator.Regex, ".+").Matches(new Dictionary<string, string>()));
    }
}
