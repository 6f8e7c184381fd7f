using Monitoring.Hosting.Cluster;
using Monitoring.Routing;
using Monitoring.Tests.Support;
using Orleans.TestingHost;

namespace Monitoring.Tests.Incidents;

/// <summary>
/// The incident index in a storm larger than its bound: every open incident stays listed, however many open, and only
/// resolved ones are trimmed, the longest-resolved first. Its own cluster: the index is one grain for the whole cluster.
/// </summary>
public sealed class IncidentIndexTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static IncidentSummary Summary(string id, IncidentStatus status, int minute) =>
        new(id, "/", "ops", new() { ["instance"] = id }, status, 1, status == IncidentStatus.Resolved ? 0 : 1, 1, T0, T0.AddMinutes(minute));

    [Fact]
    public async Task Open_incidents_beyond_the_bound_stay_listed_and_the_oldest_resolved_leave_first()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.UseInMemoryState().AddMonitoring());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var index = cluster.Client.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key);
        const int max = IncidentIndexGrain.MaxIncidents;

        async Task<IncidentSummary[]> SettledAsync(int count)
        {
            IncidentSummary[] listed = [];
            await Eventually.TrueAsync(async () => (listed = await index.ListAsync()).Length == count, $"{count} incidents listed", TimeSpan.FromSeconds(60));
            return listed;
        }

        // 2,000 resolved incidents, then 10,000 open ones: 12,000 in all, past the bound and its tenth.
        for (var i = 0; i < 2_000; i++) await index.UpsertAsync(Summary($"inc-r{i:00000}", IncidentStatus.Resolved, i));
        await SettledAsync(2_000);
        for (var i = 0; i < max; i++) await index.UpsertAsync(Summary($"inc-o{i:00000}", IncidentStatus.Open, 5_000 + i));
        // Trimmed once, when the 11,001st came: down to the bound, by the 1,001 longest-resolved.
        var listed = await SettledAsync(max + 999);
        Assert.Equal(max, listed.Count(s => s.Status == IncidentStatus.Open));
        Assert.Equal(Enumerable.Range(1_001, 999).Select(i => $"inc-r{i:00000}"),
            listed.Where(s => s.Status == IncidentStatus.Resolved).Select(s => s.Id).Order(StringComparer.Ordinal));

        // 2,000 more open: the resolved go, and all 12,000 open incidents stay listed.
        for (var i = max; i < max + 2_000; i++) await index.UpsertAsync(Summary($"inc-o{i:00000}", IncidentStatus.Open, 5_000 + i));
        listed = await SettledAsync(max + 2_000);
        Assert.All(listed, s => Assert.Equal(IncidentStatus.Open, s.Status));
    }
}
