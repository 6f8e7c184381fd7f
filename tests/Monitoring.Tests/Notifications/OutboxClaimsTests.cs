using Microsoft.Extensions.DependencyInjection;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;
using Orleans.Core.Internal;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// Which activation of a delivery worker may send a row (<see cref="OutboxClaims"/>): the rules as a table, and a worker
/// that finds a row another live activation holds, which waits for its lease and then sends it once.
/// </summary>
public sealed class OutboxClaimsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private const string Me = "10.0.0.1:11111@100|me";
    private const string Other = "10.0.0.2:11111@100|other";
    private const string Dead = "10.0.0.3:11111@100|dead";

    public static TheoryData<string, string?, int?, OutboxClaims.Step> Rows => new()
    {
        // what, claimed by, lease left (s), step
        { "mine, fresh", Me, 60, OutboxClaims.Step.Go },
        { "mine, just over half left", Me, 31, OutboxClaims.Step.Go },
        { "mine, half left: renew", Me, 30, OutboxClaims.Step.Renew },
        { "mine, run out: renew (a compare-and-set: lost if another took it)", Me, -5, OutboxClaims.Step.Renew },
        { "nobody's (recorded before claims)", null, null, OutboxClaims.Step.Take },
        { "a live other's, in its lease", Other, 45, OutboxClaims.Step.Wait },
        { "a live other's, a second left", Other, 1, OutboxClaims.Step.Wait },
        { "a live other's, lease run out", Other, 0, OutboxClaims.Step.Take },
        { "a dead silo's, in its lease", Dead, 59, OutboxClaims.Step.Take },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Who_may_send_a_row(string what, string? claimedBy, int? leftSeconds, OutboxClaims.Step step)
    {
        DateTimeOffset? until = leftSeconds is { } s ? Now.AddSeconds(s) : null;
        Assert.True(step == OutboxClaims.Decide(claimedBy, until, Me, Now, owner => owner == Dead), what);
    }

    [Fact]
    public void An_owner_names_its_silo()
    {
        var owner = OutboxClaims.Owner("127.0.0.1:11111@5", Guid.Empty);
        Assert.Equal("127.0.0.1:11111@5", OutboxClaims.SiloOf(owner));
        Assert.Equal("no-bar", OutboxClaims.SiloOf("no-bar"));
    }
}

[Collection(ApiCollection.Name)]
public sealed class ClaimedOutboxRowTests(ApiFixture api)
{
    [Fact]
    public async Task A_row_another_live_activation_holds_waits_for_its_lease_and_one_a_dead_silo_held_goes_at_once()
    {
        var s = new ApiScenario(api);
        var channelId = $"claimed-{s.Id}";
        await s.WebhookChannelAsync(channelId, "claimed");
        var grains = api.Services.GetRequiredService<IGrainFactory>();
        var outbox = api.Services.GetRequiredService<IOutboxStore>();
        var local = api.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var channel = grains.GetGrain<INotificationChannelGrain>(channelId);
        await channel.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        // Two rows left pending by earlier activations: one of this (live) silo's other activation, in its lease, and
        // one of the silo that ran here before this one (the same address, an older generation: dead).
        var now = api.Time.GetUtcNow();
        OutboxEntry Row(string alert, string owner) => new()
        {
            Notification = new Notification($"r-{s.Id}:{alert}", $"r-{s.Id}", "Claimed rule", alert, alert, Severity.Critical,
                NotificationKind.Firing, "firing", $"row of {alert}", 1, now, now, [], [], "error_rate > 0.05", 1),
            RecordedAt = now, UpdatedAt = now,
            ClaimedBy = owner, ClaimedUntil = now + OutboxClaims.Lease,
        };
        var held = Row("held", OutboxClaims.Owner(local.ToParsableString(), Guid.NewGuid()));
        var orphan = Row("orphan", OutboxClaims.Owner(SiloAddress.New(local.Endpoint, local.Generation - 1_000).ToParsableString(), Guid.NewGuid()));
        Assert.True(await outbox.TryRecordAsync(channelId, held));
        Assert.True(await outbox.TryRecordAsync(channelId, orphan));

        // The channel's next activation hands both to their workers: the dead silo's row goes at once, the other waits.
        Assert.NotNull(await channel.GetAsync());
        var first = await s.WaitForHooksAsync("claimed", 1);
        Assert.Contains("row of orphan", first[0].RawBody);
        var worker = ChannelDeliveries.Worker(grains, channelId, ChannelDeliveries.ShardOf(held.Thread, new NotificationOptions().DeliveryWorkers));
        var backlog = await worker.GetBacklogAsync(10);
        var waiting = Assert.Single(backlog.Newest, r => r.IdempotencyKey == held.Key);
        Assert.Equal(0, waiting.Attempts); // not attempted: its owner is alive and in its lease
        Assert.Single(s.Hooks("claimed"));

        // Once the lease has run out, this activation takes the row over and sends it, once.
        var moved = await s.AdvanceUntilAsync(() => s.Hooks("claimed").Count >= 2, "the held row sent after its lease", TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(3));
        Assert.True(moved >= OutboxClaims.Lease, $"sent after {moved}, within its owner's lease");
        Assert.Contains("row of held", s.Hooks("claimed")[1].RawBody);
        // The receiver has the message before the worker records the outcome: the row leaves the outbox just after.
        await Eventually.TrueAsync(async () => !await outbox.AnyPendingAsync(channelId), "the sent row to leave the outbox");
        Assert.Equal(2, s.Hooks("claimed").Count);
    }
}
