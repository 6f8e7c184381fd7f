using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Monitoring.Hosting.Cluster;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace Monitoring.Tests.Support;

/// <summary>
/// One in-process Orleans cluster for a test collection. Grain time (grain timers and the TimeProvider grains get)
/// is a FakeTimeProvider the tests advance; the silo's own membership and messaging stay on real time.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public WebhookReceiver Webhooks { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The servers' storage in the one silo.</summary>
    public FaultyStorage ServerStorage => (FaultyStorage)Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Monitoring.Settings.StorageNames.Servers);

    public async ValueTask InitializeAsync()
    {
        Webhooks = await WebhookReceiver.StartAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseInMemoryState().AddMonitoring();
            // The servers' storage, with a write failure a test can ask for.
            silo.Services.AddGrainStorage(Monitoring.Settings.StorageNames.Servers, (sp, n) =>
                new FaultyStorage(new Monitoring.Hosting.Persistence.InProcessGrainStorage(n, sp.GetRequiredService<Orleans.Serialization.Serializer>())));
            silo.Services.AddSingleton<TimeProvider>(Time);
            silo.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
            // The peers of these tests listen on loopback, which production's outbound policy refuses.
            silo.Services.PostConfigure<Monitoring.Outbound.OutboundOptions>(o => o.AllowLoopback = true);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Webhooks.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
