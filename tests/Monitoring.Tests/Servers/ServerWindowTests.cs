using Microsoft.Extensions.DependencyInjection;
using Monitoring.Alerts;
using Monitoring.Settings;
using Monitoring.Servers;
using Monitoring.Tests.Support;
using Orleans.Core.Internal;
using Orleans.Storage;

namespace Monitoring.Tests.Servers;

/// <summary>
/// A server's window is written behind by its one timer, and not kept in memory twice; a window restored from a
/// snapshot older than the breach does not resolve the breach's alert.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServerWindowTests(ClusterFixture fixture)
{
    [Fact]
    public async Task The_evaluation_timer_writes_the_window_behind_at_most_every_30_seconds()
    {
        var s = await new Scenario(fixture).SetUpAsync();
        await s.PushAsync(failures: 0, successes: 100);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Servers);

        async Task<ServerWindowState> StoredAsync()
        {
            var stored = new GrainState<ServerWindowState>(new ServerWindowState());
            await storage.ReadStateAsync("window", s.Server.GetGrainId(), stored);
            return stored.State!;
        }

        // The 15 s timer evaluates; the window is written with the first evaluation 30 s after the last write.
        for (var step = 0; step < 4; step++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(15));
            await s.Server.EvaluateAsync();
        }
        await Eventually.TrueAsync(async () => (await StoredAsync()).Data is not null, $"the window of {s.ServerId} to be stored");
        var written = await StoredAsync();
        var restored = new MetricWindow(TimeSpan.FromMinutes(5));
        Assert.True(restored.Import(written.Data!, fixture.Time.GetUtcNow()));
        Assert.Equal(100, restored.Snapshot(fixture.Time.GetUtcNow()).RequestsInWindow);

        // Nothing new arrived: the next timer ticks write nothing.
        for (var step = 0; step < 3; step++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(15));
            await s.Server.EvaluateAsync();
        }
        Assert.Equal(written.At, (await StoredAsync()).At);
    }

    [Fact]
    public async Task A_window_restored_from_before_the_breach_does_not_resolve_its_open_alert()
    {
        var s = new Scenario(fixture);
        await s.SetUpAsync(labels: s.Labels);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Servers);
        async Task<GrainState<ServerWindowState>> StoredAsync()
        {
            var stored = new GrainState<ServerWindowState>(new ServerWindowState());
            await storage.ReadStateAsync("window", s.Server.GetGrainId(), stored);
            return stored;
        }

        // Healthy traffic, written behind by the evaluation timer.
        await s.PushAsync(failures: 0, successes: 100);
        for (var step = 0; step < 3; step++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(15));
            await s.Server.EvaluateAsync();
        }
        await Eventually.TrueAsync(async () => (await StoredAsync()).State!.Data is not null, "the healthy window to be stored");
        var healthy = (await StoredAsync()).State!;

        // The breach fires the alert; its silo dies before the window is written again, so storage keeps the healthy
        // snapshot (here: the activation goes, and the snapshot it wrote on the way out is put back to the healthy one).
        await s.PushAsync(failures: 50, successes: 0);
        await s.WaitForHooksAsync(1);
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () => (await StoredAsync()).State!.At != healthy.At, "the window to be written as the activation goes");
        var written = await StoredAsync();
        written.State = healthy;
        await storage.WriteStateAsync("window", s.Server.GetGrainId(), written);

        // Back on another activation with only the older snapshot: no data since, so nothing resolves.
        fixture.Time.Advance(TimeSpan.FromSeconds(15));
        await s.Server.EvaluateAsync();
        fixture.Time.Advance(TimeSpan.FromSeconds(15));
        await s.Server.EvaluateAsync();
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        Assert.True((await s.Alert.GetAsync())!.NoData);
        await Eventually.StaysFalseAsync(() => s.Hooks.Count > 1, "no resolved message from a window older than the breach");

        // Data that arrives after it may resolve it.
        await s.PushAsync(failures: 0, successes: 100);
        await s.WaitForStatusAsync(AlertStatus.Resolved);
        Assert.Equal("resolved", (await s.WaitForHooksAsync(2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_window_restored_with_clear_data_from_after_the_breach_resolves_its_open_alert()
    {
        // Two servers see the same traffic: the second's stored window stands in for the snapshot the first's activation
        // wrote after healthy data arrived but before it could tell its alert (its silo died, or the alert was out of reach).
        var s = new Scenario(fixture);
        await s.SetUpAsync(labels: s.Labels);
        var twin = new Scenario(fixture);
        await twin.SetUpAsync(labels: twin.Labels);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Servers);

        await s.PushAsync(failures: 50, successes: 0);
        await twin.PushAsync(failures: 50, successes: 0);
        await s.WaitForHooksAsync(1);
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        // A minute later healthy traffic outweighs the breach, on the twin only; its window is stored as it goes.
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await twin.PushAsync(failures: 0, successes: 5000)).Unreached); // taken, not refused (a refused push is taken back)
        var twinWindow = new GrainState<ServerWindowState>(new ServerWindowState());
        await twin.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () =>
        {
            await storage.ReadStateAsync("window", twin.Server.GetGrainId(), twinWindow);
            return twinWindow.State!.At >= fixture.Time.GetUtcNow();
        }, "the twin's window stored as its activation goes");

        // The first server comes back with that window: clear, and about moments after its alert began.
        var stored = new GrainState<ServerWindowState>(new ServerWindowState());
        await storage.ReadStateAsync("window", s.Server.GetGrainId(), stored);
        stored.State = twinWindow.State;
        await storage.WriteStateAsync("window", s.Server.GetGrainId(), stored);
        fixture.Time.Advance(TimeSpan.FromSeconds(15));
        await s.Server.EvaluateAsync();
        await s.WaitForStatusAsync(AlertStatus.Resolved);
        Assert.Equal("resolved", (await s.WaitForHooksAsync(2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_window_whose_write_failed_is_written_with_a_later_evaluation_without_new_data()
    {
        var s = await new Scenario(fixture).SetUpAsync();
        async Task<ServerWindowState> StoredAsync()
        {
            var stored = new GrainState<ServerWindowState>(new ServerWindowState());
            await fixture.ServerStorage.ReadStateAsync("window", s.Server.GetGrainId(), stored);
            return stored.State!;
        }
        fixture.ServerStorage.FailNextWrite(s.Server.GetGrainId(), "window");
        await s.PushAsync(failures: 0, successes: 100);

        // The timer's first write behind fails; nothing new arrives, and a later evaluation stores the window all the same.
        // (A timer tick is a turn of the grain's own: the evaluation asked for after it runs after it.)
        for (var step = 0; step < 8 && !fixture.ServerStorage.Failed(s.Server.GetGrainId(), "window"); step++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(15));
            await s.Server.EvaluateAsync();
        }
        Assert.True(fixture.ServerStorage.Failed(s.Server.GetGrainId(), "window"));
        Assert.Null((await StoredAsync()).Data);
        for (var step = 0; step < 2; step++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(15));
            await s.Server.EvaluateAsync();
        }
        await Eventually.TrueAsync(async () => (await StoredAsync()).Data is not null, "the window stored after the failed write");
    }
}
