using System.Security.Cryptography;
using System.Text;
using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;
using Monitoring.Api.Problems;
using Monitoring.Listings;
using Monitoring.OnCall;

namespace Monitoring.Api.Endpoints;

/// <summary>
/// iCal feeds of shifts: <c>POST /api/schedules/{id}/feeds</c> and <c>/api/users/{id}/feeds</c> make one and show its
/// secret URL once; <c>GET /ical/{token}</c> serves it to calendars (the token is the only credential, so an unknown or
/// revoked one is a plain 404 that says nothing about which exist). A feed covers 30 days back and 183 ahead; each shift
/// keeps its UID, and one that is no longer there is served as cancelled.
/// </summary>
public static class CalendarFeedEndpoints
{
    public const string Path = "/ical";
    public static readonly TimeSpan Back = TimeSpan.FromDays(30);
    public static readonly TimeSpan Ahead = TimeSpan.FromDays(183);

    public sealed record FeedResponse(string Id, string Kind, string Target, DateTimeOffset CreatedAt, string? Url = null);

    public static void MapCalendarFeedEndpoints(this IEndpointRouteBuilder app)
    {
        Map(app, "/api/schedules", CalendarFeed.Schedule, async (grains, id) => await grains.GetGrain<IScheduleGrain>(id).GetAsync() is not null);
        Map(app, "/api/users", CalendarFeed.User, async (grains, id) => await grains.GetGrain<IUserGrain>(id).GetAsync() is not null);
        app.MapGet(Path + "/{token}", async (string token, IGrainFactory grains, IListingStore listings, TimeProvider time) =>
        {
            var name = token.EndsWith(".ics", StringComparison.Ordinal) ? token[..^4] : token;
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
            var feedGrain = grains.GetGrain<ICalendarFeedGrain>(hash);
            if (name.Length is < 20 or > 100 || await feedGrain.GetAsync() is not { } feed) return ProblemResults.NotFound("calendar feed", "(this link)");
            var now = time.GetUtcNow();
            var current = await EventsAsync(grains, listings, feed, now);
            if (current is null) return ProblemResults.NotFound("calendar feed", "(this link)");
            var events = await feedGrain.PublishAsync(current, now - Back);
            return Results.Text(Render(feed, events, now), "text/calendar; charset=utf-8");
        }).WithTags("On call");
    }

    private static void Map(IEndpointRouteBuilder app, string prefix, string kind, Func<IGrainFactory, string, Task<bool>> exists)
    {
        var group = app.MapGroup(prefix + "/{id}/feeds").WithTags("On call");
        group.MapPost("/", async (string id, HttpContext http, IGrainFactory grains) =>
        {
            if (!await exists(grains, id)) return ProblemResults.NotFound(kind, id);
            var created = await grains.GetGrain<ICalendarFeedsGrain>($"{kind}/{id}").CreateAsync();
            var url = $"{http.Request.Scheme}://{http.Request.Host}{Path}/{created.Token}.ics";
            var f = created.Feed;
            return TypedResults.Created($"{prefix}/{id}/feeds/{f.Id}", new FeedResponse(f.Id, f.Kind, f.Target, f.CreatedAt, url));
        });
        group.MapGet("/", async (string id, IGrainFactory grains) =>
            !await exists(grains, id) ? ProblemResults.NotFound(kind, id)
            : TypedResults.Ok(new { items = (await grains.GetGrain<ICalendarFeedsGrain>($"{kind}/{id}").ListAsync()).Select(f => new FeedResponse(f.Id, f.Kind, f.Target, f.CreatedAt)).ToArray() }));
        group.MapDelete("/{feedId}", async (string id, string feedId, IGrainFactory grains) =>
            await grains.GetGrain<ICalendarFeedsGrain>($"{kind}/{id}").RevokeAsync(feedId) ? Results.NoContent() : ProblemResults.NotFound("calendar feed", $"{id}/{feedId}"));
    }

    /// <summary>The shifts a feed shows now, as events with stable UIDs; null when what it shows is gone.</summary>
    private static async Task<PublishedEvent[]?> EventsAsync(IGrainFactory grains, IListingStore listings, CalendarFeed feed, DateTimeOffset now)
    {
        var (from, to) = (now - Back, now + Ahead);
        if (feed.Kind == CalendarFeed.Schedule)
        {
            var grain = grains.GetGrain<IScheduleGrain>(feed.Target);
            if (await grain.GetAsync() is not { } schedule || await grain.ShiftsAsync(from, to) is not { } shifts) return null;
            return [.. shifts.Where(s => s.Users.Length > 0)
                .Select(s => new PublishedEvent($"{s.Start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{schedule.Id}@mcp-alerting", s.Start, s.End,
                    $"On call: {string.Join(", ", s.Users)} ({schedule.Name})", 0, false))];
        }
        if (await grains.GetGrain<IUserGrain>(feed.Target).GetAsync() is not { } user) return null;
        var schedules = (await listings.QueryAsync<ScheduleEntry>([], 100_000, 0)).Items.Select(e => e.Schedule)
            .Where(s => s.Layers.Any(l => l.Users.Contains(user.Id)) || s.Overrides.Any(o => o.User == user.Id));
        var events = new List<PublishedEvent>();
        foreach (var schedule in schedules)
        {
            var shifts = await grains.GetGrain<IScheduleGrain>(schedule.Id).ShiftsAsync(from, to) ?? [];
            events.AddRange(shifts.Where(s => s.Users.Contains(user.Id)).Select(s => new PublishedEvent(
                $"{s.Start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{schedule.Id}-{user.Id}@mcp-alerting", s.Start, s.End, $"On call: {schedule.Name}", 0, false)));
        }
        return [.. events];
    }

    private static string Render(CalendarFeed feed, PublishedEvent[] events, DateTimeOffset now)
    {
        var calendar = new Calendar { ProductId = "-//MCP Alerting//On call//EN" };
        calendar.AddProperty("X-WR-CALNAME", $"On call: {feed.Target}");
        foreach (var e in events)
        {
            calendar.Events.Add(new CalendarEvent
            {
                Uid = e.Uid,
                Summary = e.Summary,
                DtStart = new CalDateTime(e.Start.UtcDateTime, "UTC"),
                DtEnd = new CalDateTime(e.End.UtcDateTime, "UTC"),
                DtStamp = new CalDateTime(now.UtcDateTime, "UTC"),
                Sequence = e.Sequence,
                Status = e.Cancelled ? EventStatus.Cancelled : EventStatus.Confirmed,
            });
        }
        return new CalendarSerializer().SerializeToString(calendar) ?? "";
    }
}
