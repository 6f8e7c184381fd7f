using System.Security.Cryptography;
using System.Text;
using Monitoring.Settings;

namespace Monitoring.OnCall;

[GenerateSerializer, Alias("mcp.CalendarFeedsState")]
public sealed class CalendarFeedsState
{
    [Id(0), JsonPropertyName("Feeds")] public List<CalendarFeed> Feeds { get; set; } = [];
}

/// <summary>The feeds of one schedule or person: made with a fresh secret token, listed without it, revoked by id.</summary>
[GrainType("calendarfeeds")]
public sealed class CalendarFeedsGrain(
    [PersistentState("feeds", StorageNames.Rules)] IPersistentState<CalendarFeedsState> state,
    TimeProvider time)
    : Grain, ICalendarFeedsGrain
{
    public const int MaxFeeds = 20;

    public async Task<CalendarFeedCreated> CreateAsync()
    {
        var key = this.GetPrimaryKeyString();
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var hash = HashOf(token);
        var feed = new CalendarFeed(hash[..12], key[..key.IndexOf('/')], key[(key.IndexOf('/') + 1)..], hash, time.GetUtcNow());
        await GrainFactory.GetGrain<ICalendarFeedGrain>(hash).OpenAsync(feed);
        state.State.Feeds.Add(feed);
        if (state.State.Feeds.Count > MaxFeeds)
        {
            var oldest = state.State.Feeds[0];
            state.State.Feeds.RemoveAt(0);
            await GrainFactory.GetGrain<ICalendarFeedGrain>(oldest.TokenHash).RevokeAsync();
        }
        await state.WriteStateAsync();
        return new CalendarFeedCreated(feed, token);
    }

    public Task<CalendarFeed[]> ListAsync() => Task.FromResult(state.State.Feeds.ToArray());

    public async Task<bool> RevokeAsync(string feedId)
    {
        if (state.State.Feeds.FirstOrDefault(f => f.Id == feedId) is not { } feed) return false;
        await GrainFactory.GetGrain<ICalendarFeedGrain>(feed.TokenHash).RevokeAsync();
        state.State.Feeds.Remove(feed);
        await state.WriteStateAsync();
        return true;
    }

    public async Task RevokeAllAsync()
    {
        if (state.State.Feeds.Count == 0) return;
        await Task.WhenAll(state.State.Feeds.Select(f => GrainFactory.GetGrain<ICalendarFeedGrain>(f.TokenHash).RevokeAsync()));
        await state.ClearStateAsync();
        state.State = new CalendarFeedsState();
    }

    /// <summary>The hex SHA-256 of a token: the feed's key, so the token itself is stored nowhere.</summary>
    public static string HashOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

[GenerateSerializer, Alias("mcp.CalendarFeedState")]
public sealed class CalendarFeedState
{
    [Id(0), JsonPropertyName("Feed")] public CalendarFeed? Feed { get; set; }
    [Id(1), JsonPropertyName("Published")] public Dictionary<string, PublishedEvent> Published { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One feed: what it shows, and what it last published, so an event keeps its UID and raises its SEQUENCE when it
/// changes, and a shift that disappears is served once more as cancelled (calendars remove it) until it is out of the window.
/// </summary>
[GrainType("calendarfeed")]
public sealed class CalendarFeedGrain([PersistentState("feed", StorageNames.Rules)] IPersistentState<CalendarFeedState> state) : Grain, ICalendarFeedGrain
{
    public async Task OpenAsync(CalendarFeed feed)
    {
        state.State.Feed = feed;
        await state.WriteStateAsync();
    }

    public async Task RevokeAsync()
    {
        await state.ClearStateAsync();
        state.State = new CalendarFeedState();
    }

    public Task<CalendarFeed?> GetAsync() => Task.FromResult(state.State.Feed);

    public async Task<PublishedEvent[]> PublishAsync(PublishedEvent[] current, DateTimeOffset windowStart)
    {
        var published = state.State.Published;
        var changed = false;
        var now = current.ToDictionary(e => e.Uid, StringComparer.Ordinal);
        foreach (var e in current)
        {
            if (!published.TryGetValue(e.Uid, out var known))
            {
                published[e.Uid] = e with { Sequence = 0, Cancelled = false };
                changed = true;
            }
            else if (known.Cancelled || known.End != e.End || known.Start != e.Start || known.Summary != e.Summary)
            {
                published[e.Uid] = e with { Sequence = known.Sequence + 1, Cancelled = false };
                changed = true;
            }
        }
        foreach (var (uid, known) in published.ToArray())
        {
            if (known.End < windowStart)
            {
                published.Remove(uid); // out of the window: calendars keep their own past
                changed = true;
            }
            else if (!now.ContainsKey(uid) && !known.Cancelled)
            {
                published[uid] = known with { Sequence = known.Sequence + 1, Cancelled = true };
                changed = true;
            }
        }
        if (changed) await state.WriteStateAsync();
        return [.. published.Values.OrderBy(e => e.Start)];
    }
}
