using Microsoft.Extensions.DependencyInjection;
using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// Store before hand-off: while a channel's delivery worker has not yet taken an alert's message, the alert's stored state already holds
/// the message and the firing that made it, so a silo lost at that moment loses neither.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class StoreBeforeHandOffTests(ApiFixture api)
{
    private const string Enqueue = $"{nameof(IChannelDeliveryGrain)}.{nameof(IChannelDeliveryGrain.EnqueueAsync)}";

    [Fact]
    public async Task An_alert_is_stored_with_its_message_before_its_channel_takes_it()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["c-{{s.Id}}"]""");
        api.Faults.Hold(Enqueue);
        Task firing;
        try
        {
            firing = s.FireAsync();
            await Eventually.TrueAsync(() => Task.FromResult(api.Faults.Waiting > 0), "the message reaching its channel");

            var storage = api.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Monitoring.Settings.StorageNames.Alerts);
            var stored = new GrainState<AlertState>();
            await storage.ReadStateAsync("alert", GrainId.Create("alert", s.AlertId), stored);
            Assert.True(stored.RecordExists, "the alert is stored before its channel takes its message");
            var state = Assert.IsType<AlertState>(stored.State);
            Assert.Equal(AlertPhase.Firing, state.Life.Phase);
            var handOff = Assert.Single(state.Outbox);
            Assert.Equal($"c-{s.Id}", handOff.ChannelId);
            Assert.Equal(NotificationKind.Firing, handOff.Notification.Kind);
            Assert.Empty(s.Hooks("hook"));
        }
        finally
        {
            api.Faults.Release(Enqueue);
        }
        await firing;
        Assert.Equal("firing", (await s.WaitForHooksAsync("hook", 1)).Single().Body.GetProperty("alert").GetProperty("status").GetString());
    }
}
