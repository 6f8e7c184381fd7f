using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// Senders hand messages straight to a channel's delivery workers, with their silo's copy of the channel
/// (<see cref="ChannelRoutes"/>). A copy made here beside the silo's own stands for another silo's: nothing on this
/// silo invalidates it, so it is a moment behind whatever the channel grain does.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ChannelRouteTests(ApiFixture api)
{
    private ChannelRoutes OtherSilosCopy() => new(api.Services.GetRequiredService<IGrainFactory>());

    private Notification Message(ApiScenario s, string text)
    {
        var now = api.Time.GetUtcNow();
        return new Notification($"{s.RuleId}:{s.ServerId}:{Guid.NewGuid():N}", s.RuleId, text, s.ServerId, "Search", Severity.Critical,
            NotificationKind.Firing, "firing", text, 1, now, now, [], [], "error_rate > 0.05", 1);
    }

    /// <summary>A webhook channel posting to <paramref name="hook"/>, and another silo's copy that has sent it one message.</summary>
    private async Task<ChannelRoutes> ChannelWithCopyAsync(ApiScenario s, string channelId, string hook)
    {
        await s.WebhookChannelAsync(channelId, hook);
        var copy = OtherSilosCopy();
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "while the copy is fresh")));
        await s.WaitForHooksAsync(hook, 1);
        return copy;
    }

    [Fact]
    public async Task A_copy_a_moment_behind_an_update_still_sends_with_the_new_config()
    {
        var s = new ApiScenario(api);
        var channelId = $"c-{s.Id}";
        var copy = await ChannelWithCopyAsync(s, channelId, "old");

        var updated = await api.Http.PutJsonAsync($"/api/channels/{channelId}", $$"""{"id":"{{channelId}}","type":"webhook","config":{"url":"{{s.Url("new")}}"} }""");
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);

        // The copy still holds the old URL; the worker holds the newer config its channel gave it, and keeps it.
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "after the update")));
        var hooks = await s.WaitForHooksAsync("new", 1);
        Assert.Contains("after the update", hooks[0].RawBody);
        Assert.Single(s.Hooks("old"));
    }

    [Fact]
    public async Task A_channel_created_after_a_copy_saw_none_takes_its_first_message()
    {
        var s = new ApiScenario(api);
        var channelId = $"c-{s.Id}";
        var copy = OtherSilosCopy();
        Assert.Equal(EnqueueOutcome.UnknownChannel, await copy.EnqueueAsync(channelId, Message(s, "no channel yet")));

        await s.WebhookChannelAsync(channelId, "hook");

        // Within the copy's refresh interval it still says "none"; a message is not refused on that word alone.
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "the channel exists")));
        var hooks = await s.WaitForHooksAsync("hook", 1);
        Assert.Contains("the channel exists", hooks[0].RawBody);
    }

    [Fact]
    public async Task A_deleted_channel_refuses_a_message_sent_with_a_copy_a_moment_behind()
    {
        var s = new ApiScenario(api);
        var channelId = $"c-{s.Id}";
        var copy = await ChannelWithCopyAsync(s, channelId, "hook");

        Assert.Equal(HttpStatusCode.NoContent, (await api.Http.DeleteAsync($"/api/channels/{channelId}")).StatusCode);

        // Every worker of the deleted channel refuses it, whichever thread a message is for.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(EnqueueOutcome.UnknownChannel, await copy.EnqueueAsync(channelId, Message(s, $"after the delete {i}")));
        }

        // Made again under the same id, the channel takes messages again, from the stale copy too.
        await s.WebhookChannelAsync(channelId, "again");
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "made again")));
        Assert.Contains("made again", (await s.WaitForHooksAsync("again", 1))[0].RawBody);
        Assert.Single(s.Hooks("hook"));
    }

    [Fact]
    public void A_worker_row_stored_before_the_fence_loads_with_none()
    {
        // As a worker stored its state in PostgreSQL before a deleted channel left a fence.
        var old = System.Text.Json.JsonSerializer.Deserialize<ChannelDeliveryState>(
            """{"Threads":{"inc-1/1":{"Ref":"1700000000.000100","At":"2026-12-01T00:00:00+00:00"}},"HeldTotal":3}""", Monitoring.Hosting.Persistence.PostgresGrainStorage.Json)!;
        Assert.Equal(3, old.HeldTotal);
        Assert.Equal("1700000000.000100", old.Threads["inc-1/1"].Ref);
        Assert.Null(old.RetiredAt);
        var now = DateTimeOffset.Parse("2026-12-01T00:00:00+00:00");
        var channel = new NotificationChannel("c", "webhook", true, """{"url":"http://127.0.0.1/x"}""", now, now);
        Assert.False(old.Retires(channel));

        var fenced = new ChannelDeliveryState { RetiredAt = now, RetiredVersion = ChannelRoute.VersionOf(channel) };
        Assert.True(fenced.Retires(channel));
        Assert.True(fenced.Retires(channel with { UpdatedAt = now.AddSeconds(-1) }));
        Assert.False(fenced.Retires(channel with { Config = """{"url":"http://127.0.0.1/y"}""" })); // made again at the same instant
        Assert.False(fenced.Retires(channel with { UpdatedAt = now.AddSeconds(1) }));
    }
}
