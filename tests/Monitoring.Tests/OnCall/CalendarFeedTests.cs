using System.Net;
using Ical.Net;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.OnCall;

/// <summary>
/// iCal feeds read back with a real iCal parser (Ical.Net): a schedule's and a person's shifts 30 days back and 6 months
/// ahead, UIDs that stay put, a changed shift with a higher SEQUENCE, a shift that is gone served as cancelled, and a
/// revoked or unknown token answered 404.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class CalendarFeedTests(ApiFixture api)
{
    private static async Task<string> Created(ApiScenario s, string url, string body)
    {
        var response = await s.Http.PostJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{url}: {text}");
        return text;
    }

    [Fact]
    public async Task A_schedules_feed_covers_six_months_keeps_its_uids_cancels_what_is_gone_and_dies_when_revoked()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"pager-{s.Id}", "pager");
        foreach (var user in new[] { "ann", "ben" })
        {
            await Created(s, "/api/users", $$"""{"id":"{{user}}-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"pager-{{s.Id}}"}]}""");
        }
        var now = api.Time.GetUtcNow();
        var start = now.UtcDateTime.Date.AddDays(-60).AddHours(9).ToString("yyyy-MM-dd'T'HH:mm");
        var layer = $$"""{"name":"weekly","users":["ann-{{s.Id}}","ben-{{s.Id}}"],"start":"{{start}}","shift":"1w"}""";
        await Created(s, "/api/schedules", $$"""{"id":"sch-{{s.Id}}","name":"Primary","timeZone":"UTC","layers":[{{layer}}]}""");

        var made = System.Text.Json.JsonDocument.Parse(await Created(s, $"/api/schedules/sch-{s.Id}/feeds", "{}")).RootElement;
        var url = new Uri(made.GetProperty("url").GetString()!);
        Assert.Matches(@"^/ical/[A-Za-z0-9_-]{43}\.ics$", url.AbsolutePath);
        Assert.DoesNotContain(url.AbsolutePath[6..^4], await s.Http.GetStringAsync($"/api/schedules/sch-{s.Id}/feeds")); // shown once

        async Task<Calendar> ReadAsync()
        {
            var response = await s.Http.GetAsync(url.AbsolutePath);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/calendar", response.Content.Headers.ContentType?.MediaType);
            return Calendar.Load(await response.Content.ReadAsStringAsync())!;
        }
        var first = await ReadAsync();
        var events = first.Events.OrderBy(e => e.DtStart!.AsUtc).ToArray();
        Assert.True(events[0].DtStart!.AsUtc <= now.UtcDateTime.AddDays(-30), $"first event {events[0].DtStart}");
        Assert.True(events[^1].DtEnd!.AsUtc >= now.UtcDateTime.AddDays(182), $"last event ends {events[^1].DtEnd}");
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.Equal(TimeSpan.FromDays(7), e.DtEnd!.AsUtc - e.DtStart!.AsUtc)); // the ends are cut by the window
        Assert.Contains(events, e => e.Summary == $"On call: ann-{s.Id} (Primary)");
        var again = await ReadAsync();
        Assert.Equal(first.Events.Select(e => e.Uid).Order(), again.Events.Select(e => e.Uid).Order());
        Assert.All(again.Events, e => Assert.Equal(0, e.Sequence));

        // An override splits next week's shift: the shift keeps its UID and a higher SEQUENCE, with a new end.
        var next = events.First(e => e.DtStart!.AsUtc > now.UtcDateTime && e.Summary!.Contains($"ben-{s.Id}"));
        var taken = next.DtStart!.AsUtc.AddDays(2);
        await Created(s, $"/api/schedules/sch-{s.Id}/overrides",
            $$"""{"id":"o1","user":"ann-{{s.Id}}","start":"{{taken:yyyy-MM-dd'T'HH:mm:ss'Z'}}","end":"{{taken.AddDays(1):yyyy-MM-dd'T'HH:mm:ss'Z'}}","replaces":"ben-{{s.Id}}"}""");
        var changed = await ReadAsync();
        var same = changed.Events.Single(e => e.Uid == next.Uid);
        Assert.Equal(1, same.Sequence);
        Assert.Equal(taken, same.DtEnd!.AsUtc);
        Assert.Contains(changed.Events, e => e.DtStart!.AsUtc == taken && e.Summary == $"On call: ann-{s.Id} (Primary)" && e.Sequence == 0);

        // The layer now covers weekdays only: the weekend shifts that were published are served as cancelled.
        var weekdays = layer.Replace("\"shift\":\"1w\"", "\"shift\":\"1w\",\"restrictions\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],\"from\":\"00:00\",\"to\":\"23:59\"}]");
        var put = await s.Http.PutJsonAsync($"/api/schedules/sch-{s.Id}", $$"""{"name":"Primary","timeZone":"UTC","layers":[{{weekdays}}]}""");
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var restricted = await ReadAsync();
        var cancelled = restricted.Events.Where(e => e.Status == "CANCELLED").ToArray();
        Assert.NotEmpty(cancelled);
        Assert.All(cancelled, e => Assert.True(e.Sequence >= 1));
        Assert.Contains(restricted.Events, e => e.Status == "CONFIRMED");

        // Revoked: the same link answers 404, like any unknown one, and the list no longer shows it.
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/schedules/sch-{s.Id}/feeds/{made.GetProperty("id").GetString()}")).StatusCode);
        var gone = await s.Http.GetAsync(url.AbsolutePath);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("application/problem+json", gone.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync("/ical/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")).StatusCode);
        Assert.Contains("\"items\":[]", await s.Http.GetStringAsync($"/api/schedules/sch-{s.Id}/feeds"));

        // A feed ends with its schedule: a schedule made again under the same id does not bring the old URL back.
        var kept = new Uri(System.Text.Json.JsonDocument.Parse(await Created(s, $"/api/schedules/sch-{s.Id}/feeds", "{}")).RootElement.GetProperty("url").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(kept.AbsolutePath)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/schedules/sch-{s.Id}")).StatusCode);
        await Created(s, "/api/schedules", $$"""{"id":"sch-{{s.Id}}","name":"Primary","timeZone":"UTC","layers":[{{layer}}]}""");
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync(kept.AbsolutePath)).StatusCode);
        Assert.Contains("\"items\":[]", await s.Http.GetStringAsync($"/api/schedules/sch-{s.Id}/feeds"));
    }

    [Fact]
    public async Task A_persons_feed_lists_only_their_own_shifts_across_schedules()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"pager-{s.Id}", "pager");
        foreach (var user in new[] { "ann", "ben" })
        {
            await Created(s, "/api/users", $$"""{"id":"{{user}}-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"pager-{{s.Id}}"}]}""");
        }
        var start = api.Time.GetUtcNow().UtcDateTime.Date.AddDays(-40).ToString("yyyy-MM-dd'T'HH:mm");
        await Created(s, "/api/schedules", $$"""{"id":"a-{{s.Id}}","name":"Alpha","timeZone":"UTC","layers":[{"users":["ann-{{s.Id}}","ben-{{s.Id}}"],"start":"{{start}}","shift":"1w"}]}""");
        await Created(s, "/api/schedules", $$"""{"id":"b-{{s.Id}}","name":"Beta","timeZone":"UTC","layers":[{"users":["ben-{{s.Id}}"],"start":"{{start}}","shift":"1w"}]}""");
        var made = System.Text.Json.JsonDocument.Parse(await Created(s, $"/api/users/ben-{s.Id}/feeds", "{}")).RootElement;
        var calendar = Calendar.Load(await s.Http.GetStringAsync(new Uri(made.GetProperty("url").GetString()!).AbsolutePath))!;
        Assert.Contains(calendar.Events, e => e.Summary == "On call: Alpha");
        Assert.Contains(calendar.Events, e => e.Summary == "On call: Beta");
        var alpha = calendar.Events.Where(e => e.Summary == "On call: Alpha").Select(e => e.DtStart!.AsUtc).Order().Skip(1).ToArray(); // the first is cut by the window
        Assert.All(alpha.Zip(alpha.Skip(1)), pair => Assert.Equal(TimeSpan.FromDays(14), pair.Second - pair.First)); // every other week: ann has the rest
        Assert.Equal(calendar.Events.Count, calendar.Events.Select(e => e.Uid).Distinct().Count());
    }
}
