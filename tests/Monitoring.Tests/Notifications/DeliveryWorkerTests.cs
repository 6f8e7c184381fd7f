using Microsoft.Extensions.DependencyInjection;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;
using Orleans.Core.Internal;
using Orleans.Storage;

namespace Monitoring.Tests.Notifications;

/// <summary>A channel's messages go through its delivery workers; what a channel stored before it had workers still loads.</summary>
[Collection(ApiCollection.Name)]
public sealed class DeliveryWorkerTests(ApiFixture api)
{
    [Fact]
    public async Task A_channel_stored_before_delivery_workers_sends_its_old_outbox_and_hands_its_threads_to_the_workers()
    {
        var s = new ApiScenario(api);
        var channelId = $"legacy-{s.Id}";
        await s.WebhookChannelAsync(channelId, "legacy");
        var grains = api.Services.GetRequiredService<IGrainFactory>();
        var storage = api.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Channels);
        var channel = grains.GetGrain<INotificationChannelGrain>(channelId);
        await channel.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        // What the channel grain kept itself before: a pending message in its own state, and a thread's reply reference.
        var now = api.Time.GetUtcNow();
        var notification = new Notification($"r-{s.Id}:s-{s.Id}", $"r-{s.Id}", "Old rule", $"s-{s.Id}", "Old server", Severity.Critical,
            NotificationKind.Firing, "firing", "from before the workers", 1, now, now, [], [], "error_rate > 0.05", 1);
        var stored = new GrainState<ChannelState>(new ChannelState());
        await storage.ReadStateAsync("channel", channel.GetGrainId(), stored);
        stored.State!.LegacyOutbox = [new OutboxEntry { Notification = notification, RecordedAt = now, UpdatedAt = now }];
        await storage.WriteStateAsync("channel", channel.GetGrainId(), stored);
        var log = new GrainState<ChannelLogState>(new ChannelLogState());
        await storage.ReadStateAsync("deliveries", channel.GetGrainId(), log);
        log.State!.Threads = new(StringComparer.Ordinal) { ["inc-old/3"] = new ThreadRef("1700000000.000100", now) };
        await storage.WriteStateAsync("deliveries", channel.GetGrainId(), log);

        // The next activation moves both out: the message is sent by its thread's worker, the thread goes to its worker.
        Assert.NotNull(await channel.GetAsync());
        var hooks = await s.WaitForHooksAsync("legacy", 1);
        Assert.Contains("from before the workers", hooks[0].RawBody);

        var worker = ChannelDeliveries.Worker(grains, channelId, ChannelDeliveries.ShardOf("inc-old/3", new NotificationOptions().DeliveryWorkers));
        await worker.Cast<IGrainManagementExtension>().DeactivateOnIdle(); // writes what it holds
        var workerState = new GrainState<ChannelDeliveryState>(new ChannelDeliveryState());
        await Eventually.TrueAsync(async () =>
        {
            await storage.ReadStateAsync("delivery", worker.GetGrainId(), workerState);
            return workerState.State!.Threads.ContainsKey("inc-old/3");
        }, "the thread in its worker's state");
        Assert.Equal("1700000000.000100", workerState.State!.Threads["inc-old/3"].Ref);
        await storage.ReadStateAsync("deliveries", channel.GetGrainId(), log);
        Assert.Empty(log.State!.Threads);
        await storage.ReadStateAsync("channel", channel.GetGrainId(), stored);
        Assert.Empty(stored.State!.LegacyOutbox);
    }

    [Fact]
    public void Threads_spread_over_the_workers_and_each_thread_has_one()
    {
        var keys = Enumerable.Range(0, 10_000).Select(i => $"r:s-{i}/1").ToList();
        var counts = keys.GroupBy(k => ChannelDeliveries.ShardOf(k, 8)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(8, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 1_000, 1_500)); // about 1,250 each
        Assert.All(keys, k => Assert.Equal(ChannelDeliveries.ShardOf(k, 8), ChannelDeliveries.ShardOf(k, 8)));
        Assert.Equal(1, ChannelDeliveries.WorkersFor(rateLimited: true, workers: 8));
        Assert.Equal(0, ChannelDeliveries.ShardOf("anything", 1));
    }
}
