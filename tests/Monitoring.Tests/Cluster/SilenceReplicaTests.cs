using Microsoft.Extensions.DependencyInjection;
using Monitoring.Hosting.Cluster;
using Monitoring.Silences;
using Orleans.TestingHost;

namespace Monitoring.Tests.Cluster;

/// <summary>A silence holds on every silo once its write has answered, not a cache refresh later.</summary>
public sealed class SilenceReplicaTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) => silo.UseInMemoryState().AddMonitoring());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Every_silo_holds_each_change_when_the_write_answers()
    {
        var catalog = _cluster.Client.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key);
        var now = DateTimeOffset.UtcNow;
        // Every silo reads the set once, so each holds a copy it would otherwise keep for its refresh interval.
        foreach (var silo in _cluster.Silos) await Cache(silo).GetAsync();

        for (var i = 0; i < 3; i++)
        {
            var silence = new Silence($"s{i}", [new Matcher("env", MatchOperator.Equal, "prod")], now, now.AddHours(1), "alice", "deploy", false, now);
            Assert.True((await catalog.CreateAsync(silence)).Succeeded);
            var version = (await catalog.GetIfChangedAsync(-1))!.Version;
            Assert.All(_cluster.Silos, silo =>
            {
                Assert.Equal(version, Cache(silo).Known.Version);
                Assert.Contains(Cache(silo).Known.Silences, s => s.Id == $"s{i}");
            });
        }
        Assert.True((await catalog.ExpireAsync("s0")).Succeeded);
        Assert.All(_cluster.Silos, silo => Assert.DoesNotContain(
            Cache(silo).Known.Matching(new Dictionary<string, string> { ["env"] = "prod" }, DateTimeOffset.UtcNow.AddSeconds(1)), s => s.Id == "s0"));
    }

    private static SilenceCache Cache(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<SilenceCache>();
}
