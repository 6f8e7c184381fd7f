using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Hosting.Persistence;
using Monitoring.Rules;
using Npgsql;
using Orleans.Storage;

using static Monitoring.Tests.Persistence.GrainStorageContract;

namespace Monitoring.Tests.Persistence;

/// <summary>Group commit in a real PostgreSQL: many grains' statements share round trips, and each still gets its own answer.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StatementBatcherTests(PostgresFixture pg)
{
    private static AlertRuleState Named(string name) => new() { Rule = GrainStorageContract.Rule(name) };

    [Fact]
    public async Task Concurrent_grain_writes_and_listing_rows_share_batches_and_a_stale_write_among_them_still_fails_alone()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        var batcher = new StatementBatcher(pg.DataSource);
        var storage = new PostgresGrainStorage("test", batcher, schema);
        var listings = new PostgresListingStore(pg.DataSource, schema, batcher);

        // One grain written once, so two writers can both hold its first version.
        var contested = GrainId.Create("alertrule", "contested");
        var first = new Held<AlertRuleState>(Named("first"));
        await storage.WriteStateAsync("s", contested, first);
        var staleA = new Held<AlertRuleState>(Named("a")) { ETag = first.ETag, RecordExists = true };
        var staleB = new Held<AlertRuleState>(Named("b")) { ETag = first.ETag, RecordExists = true };
        var before = batcher.Sent;

        // Grain writes and listing rows (which answer no rows of their own) interleaved, so batches mix them.
        var writes = Enumerable.Range(0, 600)
            .Select(i => i % 2 == 0
                ? storage.WriteStateAsync("s", GrainId.Create("alertrule", $"g{i}"), new Held<AlertRuleState>(Named($"rule {i}")))
                : Task.WhenAll(
                    storage.WriteStateAsync("s", GrainId.Create("alertrule", $"g{i}"), new Held<AlertRuleState>(Named($"rule {i}"))),
                    listings.UpsertAsync(new AlertEntry($"r1:s{i}", "r1", $"s{i}", "High", Severity.Critical, AlertStatus.Firing, "m", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1))))
            .ToList();
        var contestedWrites = new[] { storage.WriteStateAsync("s", contested, staleA), storage.WriteStateAsync("s", contested, staleB) };
        await Task.WhenAll(writes);
        var outcomes = await Task.WhenAll(contestedWrites.Select(async w =>
        {
            try { await w; return "written"; }
            catch (Exception e) when (e.GetBaseException() is InconsistentStateException) { return "refused"; }
        }));

        var sent = batcher.Sent;
        var statements = sent.Statements - before.Statements;
        Assert.Equal(902, statements);
        Assert.True(sent.Batches - before.Batches < statements / 4, $"{sent.Batches - before.Batches} batches for {statements} statements: not grouped");
        Assert.Equal(["refused", "written"], outcomes.Order());
        for (var i = 0; i < 600; i += 37)
        {
            var read = new Held<AlertRuleState>(new AlertRuleState());
            await storage.ReadStateAsync("s", GrainId.Create("alertrule", $"g{i}"), read);
            Assert.Equal($"rule {i}", read.State.Rule!.Name);
            Assert.Equal("1", read.ETag);
        }
        var (_, listed) = await listings.QueryAsync<AlertEntry>(new() { ["status"] = "firing" }, 1, 0);
        Assert.Equal(300, listed);
        var winner = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("s", contested, winner);
        Assert.Equal("2", winner.ETag);
        Assert.Contains(winner.State.Rule!.Name, new[] { "a", "b" });
    }

    [Fact]
    public async Task A_statement_postgres_refuses_fails_alone_and_the_rest_of_its_batch_commits()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        var batcher = new StatementBatcher(pg.DataSource);
        var insert = $"INSERT INTO {Schema.Quote(schema)}.grain_state (grain_type, grain_key, state_name, payload, version, state_version) VALUES ('t', $1, 's', $2, 1, 1) RETURNING version";

        var good = Enumerable.Range(0, 300).Select(i => batcher.ExecuteAsync(insert, $"k{i}", StatementBatcher.Parameter.Jsonb("{\"n\": 1}"))).ToList();
        // JSONB refuses the NUL character: this statement's error would roll back every statement of its batch.
        var bad = batcher.ExecuteAsync(insert, "bad", StatementBatcher.Parameter.Jsonb("{\"n\": \"\\u0000\"}"));
        good.AddRange(Enumerable.Range(300, 300).Select(i => batcher.ExecuteAsync(insert, $"k{i}", StatementBatcher.Parameter.Jsonb("{\"n\": 1}"))));

        Assert.All(await Task.WhenAll(good), rows => Assert.Equal(1, rows));
        var error = await Assert.ThrowsAsync<PostgresException>(() => bad);
        Assert.Contains("unsupported Unicode escape sequence", error.MessageText);
        Assert.True(batcher.Sent.Batches < 601 / 4, $"{batcher.Sent.Batches} batches for 601 statements: not grouped");
        await using var count = pg.DataSource.CreateCommand($"SELECT count(*) FROM {Schema.Quote(schema)}.grain_state WHERE grain_type = 't'");
        Assert.Equal(600L, await count.ExecuteScalarAsync());
    }
}
