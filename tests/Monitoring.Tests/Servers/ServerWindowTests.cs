using Microsoft.Extensions.DependencyInjection;
using Monitoring.Settings;
using Monitoring.Servers;
using Monitoring.Tests.Support;
using Orleans.Storage;

namespace Monitoring.Tests.Servers;

/// <summary>A server's window is written behind by its one timer, and not kept in memory twice.</summary>
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
}
