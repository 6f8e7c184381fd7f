using Monitoring.External;
using Monitoring.Hosting.Persistence;
using Monitoring.Routing;

namespace Monitoring.Tests.Persistence;

/// <summary>External alerts in a real PostgreSQL: a row per alert, a batch's changes one upsert, its removals one delete.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresExternalAlertStoreTests(PostgresFixture pg)
{
    private static ExternalAlertRecord Alert(string instance, long sequence) => new()
    {
        Labels = new() { ["alertname"] = "GatewayDown", ["instance"] = instance },
        Annotations = new() { ["summary"] = $"{instance} is down" },
        StartsAt = DateTimeOffset.UnixEpoch, EndsAt = DateTimeOffset.UnixEpoch.AddHours(1), UpdatedAt = DateTimeOffset.UnixEpoch,
        Episode = 1, Sequence = sequence, ReportedStatus = MemberStatus.Firing, ReportedEpisode = 1, SilencedBy = ["s1"],
    };

    [Fact]
    public async Task Stores_what_changed_forgets_what_was_removed_and_keeps_partitions_apart()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        var store = new PostgresExternalAlertStore(schema, new StatementBatcher(pg.DataSource));

        var a = Alert("a", 1);
        await store.SaveAsync(7, [KeyValuePair.Create("fa", a), KeyValuePair.Create("fb", Alert("b", 1))], []);
        await store.SaveAsync(8, [KeyValuePair.Create("fc", Alert("c", 1))], []);
        // Read when saved: a change after the call is not what was stored.
        var saving = store.SaveAsync(7, [KeyValuePair.Create("fa", a)], ["fb"]);
        a.Sequence = 99;
        await saving;

        var seven = (await store.LoadAsync(7)).ToDictionary(r => r.Key, r => r.Value);
        Assert.Equal(["fa"], seven.Keys);
        Assert.Equal(1, seven["fa"].Sequence);
        Assert.Equal("a is down", seven["fa"].Annotations["summary"]);
        Assert.Equal(MemberStatus.Firing, seven["fa"].ReportedStatus);
        Assert.Equal(["s1"], seven["fa"].SilencedBy);
        Assert.Equal(["fc"], (await store.LoadAsync(8)).Select(r => r.Key));
        Assert.Empty(await store.LoadAsync(9));
    }
}
