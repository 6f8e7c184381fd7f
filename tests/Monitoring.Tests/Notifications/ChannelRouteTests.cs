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

    [Fact]
    public async Task A_copy_a_moment_behind_an_update_still_sends_with_the_new_config()
    {
        var s = new ApiScenario(api);
        var channelId = $"c-{s.Id}";
        await s.WebhookChannelAsync(channelId, "old");
        var copy = OtherSilosCopy();
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "before the update")));
        await s.WaitForHooksAsync("old", 1);

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
        await s.WebhookChannelAsync(channelId, "hook");
        var copy = OtherSilosCopy();
        Assert.Equal(EnqueueOutcome.Recorded, await copy.EnqueueAsync(channelId, Message(s, "while it exists")));
        await s.WaitForHooksAsync("hook", 1);

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
}
