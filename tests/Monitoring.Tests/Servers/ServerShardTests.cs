using Microsoft.Extensions.DependencyInjection;
using Monitoring.Rules;
using Monitoring.Servers;
using Monitoring.Tests.Support;
using Orleans.Core.Internal;

namespace Monitoring.Tests.Servers;

/// <summary>
/// Servers are kept alive by their shard's reminder, not one each: a registered server is in its shard, the shard's
/// tick brings back a server whose activation was lost, a deleted or never-stored server leaves the shard at its tick,
/// and a reminder of its own that a version before shards left on a server is removed at its tick.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServerShardTests(ClusterFixture fixture)
{
    private IReminderTable Reminders => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();

    private IServerShardGrain ShardOf(string serverId) => fixture.Grains.GetGrain<IServerShardGrain>(ServerShards.Of(serverId));

    private bool Active(string serverId) => fixture.Cluster.Silos.Any(silo => silo.ServiceProvider.GetRequiredService<LocalServers>().Contains(serverId));

    private TickStatus Tick(TimeSpan period)
    {
        var at = fixture.Time.GetUtcNow().UtcDateTime;
        return new TickStatus(at, period, at);
    }

    [Fact]
    public async Task A_registered_server_is_kept_alive_by_its_shard_and_leaves_it_when_deleted()
    {
        var s = await new Scenario(fixture).SetUpAsync();
        var shard = ShardOf(s.ServerId);
        Assert.Contains(s.ServerId, await shard.GetServersAsync());
        Assert.Empty((await Reminders.ReadRows(s.Server.GetGrainId())).Reminders);
        // Registered behind the addition's turn (the reminder table is never waited on).
        await Eventually.TrueAsync(async () => (await Reminders.ReadRow(shard.GetGrainId(), "keep-alive"))?.Period == TimeSpan.FromMinutes(1), "the shard's reminder registered");

        // Its activation lost, as on a dead silo: the shard's tick brings it back.
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(() => Task.FromResult(!Active(s.ServerId)), $"the activation of {s.ServerId} to end");
        await shard.AsReference<IRemindable>().ReceiveReminder("keep-alive", Tick(TimeSpan.FromMinutes(1)));
        Assert.True(Active(s.ServerId));

        // Deleted: out of its shard at the shard's next tick (a server does not call its shard: the shard calls it). An
        // id a shard lists that no server is registered under is dropped at the tick.
        Assert.True(await s.Server.DeleteAsync());
        Assert.Contains(s.ServerId, await shard.GetServersAsync());
        await shard.AsReference<IRemindable>().ReceiveReminder("keep-alive", Tick(TimeSpan.FromMinutes(1)));
        Assert.DoesNotContain(s.ServerId, await shard.GetServersAsync());
        var stray = $"stray-{s.Id}";
        await ShardOf(stray).AddAsync(stray);
        Assert.Contains(stray, await ShardOf(stray).GetServersAsync());
        // The first tick after it was added spares it (a registration adds to the shard first, then stores the server;
        // BulkTests holds a registration there), so it is gone by the second. (The shard's own reminder may tick between.)
        await ShardOf(stray).AsReference<IRemindable>().ReceiveReminder("keep-alive", Tick(TimeSpan.FromMinutes(1)));
        await ShardOf(stray).AsReference<IRemindable>().ReceiveReminder("keep-alive", Tick(TimeSpan.FromMinutes(1)));
        Assert.DoesNotContain(stray, await ShardOf(stray).GetServersAsync());
    }

    [Fact]
    public async Task A_reminder_of_its_own_left_by_a_version_before_shards_is_removed_at_its_tick()
    {
        var s = await new Scenario(fixture).SetUpAsync();
        var shard = ShardOf(s.ServerId);
        var old = TimeSpan.FromMinutes(5);
        var at = fixture.Time.GetUtcNow().UtcDateTime;
        await Reminders.UpsertRow(new ReminderEntry { GrainId = s.Server.GetGrainId(), ReminderName = "keep-alive", StartAt = at, Period = old });

        await s.Server.AsReference<IRemindable>().ReceiveReminder("keep-alive", Tick(old));
        Assert.Null(await Reminders.ReadRow(s.Server.GetGrainId(), "keep-alive"));
        Assert.NotNull(await s.Server.GetAsync());
        Assert.Contains(s.ServerId, await shard.GetServersAsync());
    }

    [Fact]
    public void The_shard_of_a_server_never_changes() =>
        Assert.Equal([33, 14, 54, 11], new[] { "mcp-1", "t-0", "t-9999", "payments-eu" }.Select(ServerShards.Of));
}
