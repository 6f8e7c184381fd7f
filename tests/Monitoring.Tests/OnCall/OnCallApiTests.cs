using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Monitoring.Tests.OnCall;

/// <summary>
/// People and schedules through the API: who is on call at a moment and across the daylight-saving change, shifts,
/// overrides, the list of everyone on call now and next, and bad input refused with nothing stored.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OnCallApiTests(ApiFixture api)
{
    private async Task<ApiScenario> TeamAsync(params string[] users)
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"pager-{s.Id}", "pager");
        foreach (var user in users)
        {
            var created = await s.Http.PostJsonAsync("/api/users", $$"""
                {"id":"{{user}}-{{s.Id}}","name":"{{user}}","timeZone":"Europe/Berlin",
                 "contactMethods":[{"id":"hook","type":"webhook","channel":"pager-{{s.Id}}"}],"notificationRules":[{"contactMethod":"hook","after":"0s"}]}
                """);
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }
        return s;
    }

    private static string Layers(ApiScenario s) => $$"""
        [{"name":"weekly","users":["ann-{{s.Id}}","ben-{{s.Id}}"],"start":"2026-03-02T09:00","shift":"1w"},
         {"name":"office","users":["cat-{{s.Id}}"],"start":"2026-03-02T09:00","shift":"1d","restrictions":[{"days":["mon","tue","wed","thu","fri"],"from":"09:00","to":"17:00"}]}]
        """;

    private static async Task<JsonElement> OnCallAsync(ApiScenario s, string at) =>
        await (await s.Http.GetAsync($"/api/schedules/sch-{s.Id}/oncall?at={Uri.EscapeDataString(at)}")).JsonAsync();

    private static string[] Users(JsonElement e) => [.. e.GetProperty("users").EnumerateArray().Select(u => u.GetString()!)];

    [Fact]
    public async Task A_two_layer_schedule_answers_who_is_on_call_across_the_change_to_summer_time()
    {
        var s = await TeamAsync("ann", "ben", "cat");
        var created = await s.Http.PostJsonAsync("/api/schedules", $$"""{"id":"sch-{{s.Id}}","name":"Primary","timeZone":"Europe/Berlin","layers":{{Layers(s)}}}""");
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        // Saturday 28 March: the office layer is off; the weekly layer's fourth week is ben's (ann, ben, ann, ben).
        var saturday = await OnCallAsync(s, "2026-03-28T12:00:00+01:00");
        Assert.Equal([$"ben-{s.Id}"], Users(saturday));
        Assert.Equal("weekly", saturday.GetProperty("source").GetString());
        // The week's handoff is Monday 30 March 09:00 summer time (07:00 UTC), not 08:00 UTC; then the office layer is on.
        Assert.Equal(DateTimeOffset.Parse("2026-03-30T07:00:00Z"), saturday.GetProperty("until").GetDateTimeOffset());
        Assert.Equal([$"cat-{s.Id}"], Users(saturday.GetProperty("next")));
        Assert.Equal([$"cat-{s.Id}"], Users(await OnCallAsync(s, "2026-03-30T09:30:00+02:00")));
        Assert.Equal([$"ann-{s.Id}"], Users(await OnCallAsync(s, "2026-03-30T17:00:00+02:00")));

        // Shifts over the week of the change: the office layer's days at 09:00–17:00 local, offsets changing on Sunday.
        var shifts = (await (await s.Http.GetAsync($"/api/schedules/sch-{s.Id}/shifts?from=2026-03-27T00:00:00Z&to=2026-03-31T00:00:00Z")).JsonAsync())
            .GetProperty("shifts").EnumerateArray().ToArray();
        var office = shifts.Where(x => x.GetProperty("source").GetString() == "office").Select(x => x.GetProperty("start").GetDateTimeOffset()).ToArray();
        Assert.Equal([DateTimeOffset.Parse("2026-03-27T08:00:00Z"), DateTimeOffset.Parse("2026-03-30T07:00:00Z")], office);
        Assert.All(shifts.Zip(shifts.Skip(1)), pair => Assert.Equal(pair.First.GetProperty("end").GetDateTimeOffset(), pair.Second.GetProperty("start").GetDateTimeOffset()));

        // An operator's override: dan is not a user, so it is refused; ann takes Saturday afternoon from ben.
        var refused = await s.Http.PostJsonAsync($"/api/schedules/sch-{s.Id}/overrides", $$"""{"user":"dan-{{s.Id}}","start":"2026-03-28T12:00:00Z","end":"2026-03-28T18:00:00Z"}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("unknown user", await refused.Content.ReadAsStringAsync());
        var taken = await s.Http.PostJsonAsync($"/api/schedules/sch-{s.Id}/overrides",
            $$"""{"id":"swap","user":"ann-{{s.Id}}","start":"2026-03-28T12:00:00Z","end":"2026-03-28T18:00:00Z","replaces":"ben-{{s.Id}}"}""");
        Assert.Equal(HttpStatusCode.Created, taken.StatusCode);
        var swapped = await OnCallAsync(s, "2026-03-28T13:00:00+01:00");
        Assert.Equal([$"ann-{s.Id}"], Users(swapped));
        Assert.Equal("override", swapped.GetProperty("source").GetString());

        // The same person twice over one span is refused, naming the override it overlaps; nothing changes.
        var overlap = await s.Http.PostJsonAsync($"/api/schedules/sch-{s.Id}/overrides", $$"""{"user":"ann-{{s.Id}}","start":"2026-03-28T17:00:00Z","end":"2026-03-28T20:00:00Z"}""");
        Assert.Equal(HttpStatusCode.BadRequest, overlap.StatusCode);
        Assert.Contains("overlaps", await overlap.Content.ReadAsStringAsync());
        var stored = await (await s.Http.GetAsync($"/api/schedules/sch-{s.Id}")).JsonAsync();
        Assert.Equal(1, stored.GetProperty("overrides").GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/schedules/sch-{s.Id}/overrides/swap")).StatusCode);
        Assert.Equal([$"ben-{s.Id}"], Users(await OnCallAsync(s, "2026-03-28T13:00:00+01:00")));
    }

    [Fact]
    public async Task Everyone_on_call_now_and_next_is_listed_on_the_products_clock()
    {
        var s = await TeamAsync("ann", "ben", "cat");
        var now = api.Time.GetUtcNow();
        // A daily rotation whose handoff is an hour from now, in UTC, so now and next are known.
        var handoff = now.AddHours(1);
        var start = handoff.AddDays(-3).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{s.Id}}","name":"Daily","timeZone":"UTC","layers":[{"name":"daily","users":["ann-{{s.Id}}","ben-{{s.Id}}","cat-{{s.Id}}"],"start":"{{start}}","shift":"1d"}]}""")).StatusCode);
        var all = await (await s.Http.GetAsync("/api/oncall")).JsonAsync();
        var mine = all.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("schedule").GetString() == $"sch-{s.Id}");
        Assert.Equal([$"cat-{s.Id}"], Users(mine)); // the third day of ann, ben, cat; the fourth is ann's again
        Assert.Equal([$"ann-{s.Id}"], Users(mine.GetProperty("next")));
        var until = mine.GetProperty("until").GetDateTimeOffset();
        Assert.Equal(new DateTimeOffset(handoff.Year, handoff.Month, handoff.Day, handoff.Hour, handoff.Minute, 0, TimeSpan.Zero), until);
    }

    public static TheoryData<string, string, string> BadSchedules => new()
    {
        { "a time zone that does not exist", """ "timeZone":"Mars/Olympus_Mons","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00","shift":"1w"}] """, "timeZone" },
        { "a shift length of 0", """ "timeZone":"UTC","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00","shift":"0d"}] """, "layers[0].shift.count" },
        { "an unknown user", """ "timeZone":"UTC","layers":[{"users":["ann-@","nobody-@"],"start":"2026-03-02T09:00","shift":"1w"}] """, "layers[0].users[1]" },
        { "a restriction that never matches", """ "timeZone":"UTC","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00","shift":"1w","restrictions":[{"days":["mon"],"from":"09:00","to":"09:00"}]}] """, "layers[0].restrictions[0]" },
        { "a day that is not one", """ "timeZone":"UTC","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00","shift":"1w","restrictions":[{"days":["funday"],"from":"09:00","to":"17:00"}]}] """, "layers[0].restrictions[0].days" },
        { "a start with an offset", """ "timeZone":"UTC","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00:00Z","shift":"1w"}] """, "layers[0].start" },
        { "overlapping overrides of one person", """ "timeZone":"UTC","layers":[{"users":["ann-@"],"start":"2026-03-02T09:00","shift":"1w"}],"overrides":[{"user":"ann-@","start":"2026-03-03T09:00:00Z","end":"2026-03-03T12:00:00Z"},{"user":"ann-@","start":"2026-03-03T11:00:00Z","end":"2026-03-03T13:00:00Z"}] """, "overrides[1]" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public async Task A_bad_schedule_is_refused_naming_the_field_and_nothing_is_stored(string what, string fields, string field)
    {
        var s = await TeamAsync("ann");
        var response = await s.Http.PostJsonAsync("/api/schedules", "{\"id\":\"sch-" + s.Id + "\"," + fields.Replace("-@", "-" + s.Id) + "}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{what}: {problem}");
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/schedules/sch-{s.Id}")).StatusCode);
    }

    [Fact]
    public async Task People_and_schedules_in_use_cannot_be_deleted_and_policies_may_name_them()
    {
        var s = await TeamAsync("ann", "ben", "cat");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{s.Id}}","name":"Primary","timeZone":"Europe/Berlin","layers":{{Layers(s)}}}""")).StatusCode);
        var unknown = await s.Http.PostJsonAsync("/api/escalation-policies",
            $$"""{"id":"p-{{s.Id}}","levels":[{"delay":"0s","schedules":["sch-{{s.Id}}"]},{"delay":"10m","users":["nobody-{{s.Id}}"]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("levels[1].users[0]", await unknown.Content.ReadAsStringAsync());
        var policy = await s.Http.PostJsonAsync("/api/escalation-policies",
            $$"""{"id":"p-{{s.Id}}","levels":[{"delay":"0s","schedules":["sch-{{s.Id}}"]},{"delay":"10m","users":["cat-{{s.Id}}"],"channels":["pager-{{s.Id}}"]}]}""");
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        var levels = (await policy.JsonAsync()).GetProperty("levels");
        Assert.Equal($"sch-{s.Id}", levels[0].GetProperty("schedules")[0].GetString());
        Assert.Equal($"cat-{s.Id}", levels[1].GetProperty("users")[0].GetString());

        var scheduleInUse = await s.Http.DeleteAsync($"/api/schedules/sch-{s.Id}");
        Assert.Equal(HttpStatusCode.Conflict, scheduleInUse.StatusCode);
        Assert.Contains($"p-{s.Id}", await scheduleInUse.Content.ReadAsStringAsync());
        var userInUse = await s.Http.DeleteAsync($"/api/users/ann-{s.Id}");
        Assert.Equal(HttpStatusCode.Conflict, userInUse.StatusCode);
        Assert.Contains($"schedule sch-{s.Id}", await userInUse.Content.ReadAsStringAsync());

        // A user's contact goes through a channel of its own kind.
        var wrongKind = await s.Http.PostJsonAsync("/api/users",
            $$"""{"id":"dan-{{s.Id}}","name":"Dan","contactMethods":[{"id":"mail","type":"email","channel":"pager-{{s.Id}}","address":"dan@example.com"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, wrongKind.StatusCode);
        Assert.Contains("is a webhook channel", await wrongKind.Content.ReadAsStringAsync());
        await s.ChannelAsync($"slackhook-{s.Id}", "slack", $$"""{"webhookUrl":"{{s.Url("slackhook")}}"}""");
        var noDm = await s.Http.PostJsonAsync("/api/users",
            $$"""{"id":"dan-{{s.Id}}","contactMethods":[{"id":"slack","type":"slack","channel":"slackhook-{{s.Id}}","address":"U0DAN"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, noDm.StatusCode);
        Assert.Contains("needs a bot-token channel", await noDm.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/users/dan-{s.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/escalation-policies/p-{s.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/schedules/sch-{s.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/users/ann-{s.Id}")).StatusCode);
    }
}

/// <summary>
/// A schedule with nobody on call in the next 7 days raises an ordinary alert through the routing tree, which ends when
/// the gap is covered; a policy that targets it is stored and says which level would page nobody.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ScheduleGapTests(ApiFixture api)
{
    [Fact]
    public async Task A_gap_in_the_next_week_fires_an_alert_routed_like_any_other_and_covering_it_resolves_it()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"pager-{s.Id}", "pager");
        await s.WebhookChannelAsync($"ops-{s.Id}", "ops");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/users",
            $$"""{"id":"ann-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"pager-{{s.Id}}"}]}""")).StatusCode);
        var routed = await s.Http.PutJsonAsync("/api/routing", $$"""
            {"route":{"groupBy":["alertname","schedule"],"routes":[{"matchers":["alertname=OnCallScheduleGap","schedule=sch-{{s.Id}}"],"receiver":"ops-{{s.Id}}","groupWait":"0s"}]},
             "receivers":[{"name":"ops-{{s.Id}}","channels":["ops-{{s.Id}}"]}]}
            """);
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);

        var start = api.Time.GetUtcNow().UtcDateTime.Date.AddDays(-7).ToString("yyyy-MM-dd'T'HH:mm");
        var weekdays = $$"""{"name":"office","users":["ann-{{s.Id}}"],"start":"{{start}}","shift":"1w","restrictions":[{"days":["mon","tue","wed","thu","fri"],"from":"09:00","to":"17:00"}]}""";
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{s.Id}}","name":"Office","timeZone":"UTC","layers":[{{weekdays}}]}""")).StatusCode);

        var firing = (await s.WaitForHooksAsync("ops", 1)).Single();
        var alert = firing.Body.GetProperty("incident").GetProperty("alerts")[0];
        Assert.Equal("firing", alert.GetProperty("status").GetString());
        Assert.Contains("nobody on call", firing.RawBody);
        var listed = await s.Http.GetStringAsync($"/api/v2/alerts?filter=schedule%3D%22sch-{s.Id}%22");
        Assert.Contains("OnCallScheduleGap", listed);

        // A policy that targets it is stored, and says which level would page nobody.
        var policy = await s.Http.PostJsonAsync("/api/escalation-policies", $$"""{"id":"p-{{s.Id}}","levels":[{"delay":"0s","schedules":["sch-{{s.Id}}"]}]}""");
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        var warnings = (await policy.JsonAsync()).GetProperty("warnings");
        Assert.Contains("this level pages nobody then", warnings[0].GetString());

        // Covered around the clock by a second layer: the alert ends, and the receiver hears it resolved.
        var always = $$"""{"name":"always","users":["ann-{{s.Id}}"],"start":"{{start}}","shift":"1w"}""";
        Assert.Equal(HttpStatusCode.OK, (await s.Http.PutJsonAsync($"/api/schedules/sch-{s.Id}",
            $$"""{"name":"Office","timeZone":"UTC","layers":[{{always}},{{weekdays}}]}""")).StatusCode);
        await s.AdvanceUntilAsync(() => s.Hooks("ops").Any(h => h.Body.GetProperty("context").GetProperty("notification").GetString() == "resolved"),
            "the gap alert resolved", TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30));
        Assert.DoesNotContain("OnCallScheduleGap", await s.Http.GetStringAsync($"/api/v2/alerts?filter=schedule%3D%22sch-{s.Id}%22"));
        var quiet = (await (await s.Http.PutJsonAsync($"/api/escalation-policies/p-{s.Id}", """{"levels":[{"delay":"0s","schedules":["sch-@"]}]}""".Replace("@", s.Id))).JsonAsync());
        Assert.False(quiet.TryGetProperty("warnings", out var none) && none.GetArrayLength() > 0);
    }
}

/// <summary>A person is told before their shift starts, at their own lead time, once, through their at-once contacts.</summary>
[Collection(ApiCollection.Name)]
public sealed class ShiftNoticeTests(ApiFixture api)
{
    [Fact]
    public async Task A_person_coming_on_call_is_told_at_their_lead_time_once_and_nobody_else_is()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"ann-{s.Id}", "ann");
        await s.WebhookChannelAsync($"ben-{s.Id}", "ben");
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/users",
            $$"""{"id":"ann-{{s.Id}}","name":"Ann","timeZone":"Europe/Berlin","shiftNotice":"30m","contactMethods":[{"id":"hook","type":"webhook","channel":"ann-{{s.Id}}"}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/users",
            $$"""{"id":"ben-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"ben-{{s.Id}}"}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Http.PostJsonAsync("/api/users", $$"""{"id":"cat-{{s.Id}}","shiftNotice":"3d"}""")).StatusCode);

        // ben is on call now; the handoff to ann is two hours from now.
        var now = api.Time.GetUtcNow();
        var handoff = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddHours(2);
        Assert.Equal(HttpStatusCode.Created, (await s.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{s.Id}}","timeZone":"UTC","layers":[{"users":["ben-{{s.Id}}","ann-{{s.Id}}"],"start":"{{handoff.AddDays(-1).UtcDateTime:yyyy-MM-dd'T'HH:mm}}","shift":"1d"}]}""")).StatusCode);
        var schedule = api.Services.GetRequiredService<IGrainFactory>().GetGrain<Monitoring.OnCall.IScheduleGrain>($"sch-{s.Id}").AsReference<IRemindable>();
        Task Tick() => schedule.ReceiveReminder("gaps", new TickStatus(api.Time.GetUtcNow().UtcDateTime, TimeSpan.FromMinutes(1), api.Time.GetUtcNow().UtcDateTime));

        await Tick();
        await s.AdvanceAsync(handoff - api.Time.GetUtcNow() - TimeSpan.FromMinutes(31), TimeSpan.FromMinutes(5));
        await Tick(); // 31 minutes before: not yet
        await Eventually.StaysFalseAsync(() => s.Hooks("ann").Count > 0, "a notice before the lead time");
        await s.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1));
        await Tick(); // 29 minutes before
        var notice = (await s.WaitForHooksAsync("ann", 1)).Single();
        Assert.Contains("starts in 29m", notice.Body.GetProperty("context").GetProperty("subject").GetString());
        Assert.Equal($"ann-{s.Id}", notice.Body.GetProperty("recipient").GetProperty("user").GetString());
        await Tick();
        await Eventually.StaysFalseAsync(() => s.Hooks("ann").Count > 1, "a second notice of the same shift");
        Assert.Empty(s.Hooks("ben")); // on call already, and asked for no notice
    }
}
