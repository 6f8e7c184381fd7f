using System.Net;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>Escalation policies through the API, on the fake clock: levels after their delays, repeats, ack stops, resolution to every level.</summary>
[Collection(ApiCollection.Name)]
public sealed class EscalationPolicyTests(ApiFixture api)
{
    private static async Task<ApiScenario> SetUpAsync(ApiFixture api, int repeat = 0)
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"l1-{s.Id}", "l1");
        await s.WebhookChannelAsync($"l2-{s.Id}", "l2");
        var policy = await s.Http.PostJsonAsync("/api/escalation-policies", $$"""
            {"id":"p-{{s.Id}}","name":"On-call","repeat":{{repeat}},"repeatInterval":"15m",
             "levels":[{"delay":"0s","channels":["l1-{{s.Id}}"]},{"delay":"10m","channels":["l2-{{s.Id}}"]}]}
            """);
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        await s.ServerAndRuleAsync($$""" "channels":[],"escalationPolicy":"p-{{s.Id}}","autoResolve":false""");
        return s;
    }

    [Fact]
    public async Task The_second_level_hears_after_its_delay_and_the_resolution_reaches_both()
    {
        var s = await SetUpAsync(api);

        await s.FireAsync();
        var first = (await s.WaitForHooksAsync("l1", 1)).Single();
        Assert.Equal("escalation", first.Body.GetProperty("context").GetProperty("notification").GetString());
        Assert.Equal(1, first.Body.GetProperty("context").GetProperty("escalation_level").GetInt32());
        Assert.Equal("firing", await s.StatusAsync());
        var alert = await s.AlertAsync();
        Assert.Equal($"p-{s.Id}", alert.GetProperty("escalationPolicy").GetString());
        Assert.Equal(1, alert.GetProperty("escalationLevel").GetInt32());

        await s.AdvanceAsync(TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(1));
        await Eventually.StaysFalseAsync(() => s.Hooks("l2").Count > 0, "level 2 before its delay");

        await s.AdvanceUntilAsync(() => s.Hooks("l2").Count == 1, "level 2", TimeSpan.FromSeconds(15));
        var second = s.Hooks("l2").Single().Body;
        // Notification timestamps are the fake clock's: level 2 was told no sooner than 10 minutes after level 1. (The
        // clock moves on while a grain turn runs, so a loaded machine may observe the tick a little later.)
        Assert.InRange(second.GetProperty("timestamp").GetDateTimeOffset() - first.Body.GetProperty("timestamp").GetDateTimeOffset(),
            TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(12));
        Assert.Equal(2, second.GetProperty("context").GetProperty("escalation_level").GetInt32());
        Assert.Equal("escalated", second.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal("escalated", await s.StatusAsync());
        Assert.Contains((await s.AlertAsync()).GetProperty("transitions").EnumerateArray(),
            t => t.GetProperty("reason").GetString() == $"escalated to level 2 of p-{s.Id}");

        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/alerts/{s.AlertId}/resolve", """{"by":"bob"}""")).StatusCode);
        Assert.Equal("resolved", (await s.WaitForHooksAsync("l1", 2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal("resolved", (await s.WaitForHooksAsync("l2", 2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_acknowledgement_stops_the_policy()
    {
        var s = await SetUpAsync(api, repeat: 2);

        await s.FireAsync();
        await s.WaitForHooksAsync("l1", 1);
        await s.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PostJsonAsync($"/api/alerts/{s.AlertId}/ack", """{"by":"alice"}""")).StatusCode);
        Assert.Null((await s.AlertAsync()).GetProperty("nextEscalationAt").GetString());

        await s.AdvanceAsync(TimeSpan.FromHours(2), TimeSpan.FromMinutes(2));
        await Eventually.StaysFalseAsync(() => s.Hooks("l2").Count > 0 || s.Hooks("l1").Count > 1, "no level after the ack");
        Assert.Equal("acknowledged", await s.StatusAsync());
    }

    [Fact]
    public async Task The_policy_repeats_from_the_first_level_after_the_repeat_interval()
    {
        var s = await SetUpAsync(api, repeat: 1);

        await s.FireAsync();
        await s.WaitForHooksAsync("l1", 1);
        // The clock stops as soon as the alert says level 2 was done (the webhook may arrive later on a loaded machine,
        // and by then a clock still moving would have passed the next step too).
        static TimeSpan Next(System.Text.Json.JsonElement alert) =>
            alert.GetProperty("nextEscalationAt").GetDateTimeOffset() - alert.GetProperty("firedAt").GetDateTimeOffset();
        await s.AdvanceUntilAsync(async () => Next(await s.AlertAsync()) > TimeSpan.FromMinutes(10), "level 2 done", TimeSpan.FromMinutes(1));
        await s.WaitForHooksAsync("l2", 1);
        // The schedule counts from when each step was due, not from when a loaded machine got to it: level 2 at
        // 10 min, level 1 again 15 min later, at 25 min.
        var alert = await s.AlertAsync();
        Assert.Equal(TimeSpan.FromMinutes(25), Next(alert));
        // Round two: level 1 again, level 2 ten minutes after that; then the policy is done.
        await s.AdvanceUntilAsync(() => s.Hooks("l1").Count == 2, "level 1 again", TimeSpan.FromMinutes(1));
        Assert.True(At(s.Hooks("l1")[1]) - At(s.Hooks("l1")[0]) >= TimeSpan.FromMinutes(25));
        await s.AdvanceUntilAsync(() => s.Hooks("l2").Count == 2, "level 2 again", TimeSpan.FromMinutes(1));
        await s.AdvanceAsync(TimeSpan.FromHours(2), TimeSpan.FromMinutes(5));
        await Eventually.StaysFalseAsync(() => s.Hooks("l1").Count > 2 || s.Hooks("l2").Count > 2, "nothing after the last round");
    }

    private static DateTimeOffset At(ReceivedHook hook) => hook.Body.GetProperty("timestamp").GetDateTimeOffset();

    [Fact]
    public async Task Policies_are_validated_and_cannot_be_deleted_while_a_rule_uses_them()
    {
        var s = await SetUpAsync(api);

        var unknown = await s.Http.PostJsonAsync("/api/escalation-policies", """{"id":"bad-policy","levels":[{"delay":"5m","channels":["nope-nope"]}]}""");
        Assert.Contains("levels[0].channels[0]: unknown channel 'nope-nope'", await unknown.AssertProblemAsync(400));
        var noLevels = await s.Http.PostJsonAsync("/api/escalation-policies", """{"id":"bad-policy","levels":[]}""");
        Assert.Contains("levels:", await noLevels.AssertProblemAsync(400));
        var badDelay = await s.Http.PostJsonAsync("/api/escalation-policies", $$"""{"id":"bad-policy","levels":[{"delay":"soon","channels":["l1-{{s.Id}}"]}],"repeat":99}""");
        var detail = await badDelay.AssertProblemAsync(400);
        Assert.Contains("levels[0].delay:", detail);
        Assert.Contains("repeat:", detail);
        await (await s.Http.GetAsync("/api/escalation-policies/bad-policy")).AssertProblemAsync(404);

        var rule = await s.Http.PostJsonAsync("/api/rules", """{"id":"r-bad-policy","name":"R","condition":"error_rate > 0.5","channels":[],"escalationPolicy":"no-such-policy"}""");
        Assert.Contains("escalationPolicy: unknown escalation policy 'no-such-policy'", await rule.AssertProblemAsync(400));

        Assert.Contains(s.RuleId, await (await s.Http.DeleteAsync($"/api/escalation-policies/p-{s.Id}")).AssertProblemAsync(409));
        Assert.Contains($"p-{s.Id}", await (await s.Http.DeleteAsync($"/api/channels/l2-{s.Id}")).AssertProblemAsync(409));
        var listed = await (await s.Http.GetAsync("/api/escalation-policies?limit=1000")).JsonAsync();
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), p => p.GetProperty("id").GetString() == $"p-{s.Id}");
    }
}
