using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Hosting.Persistence;

namespace Monitoring.Tests.Persistence;

/// <summary>Production listings: a projection table in a real PostgreSQL, filtered, paged and counted by SQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresListingStoreTests(PostgresFixture pg)
{
    private static AlertEntry Alert(string id, AlertStatus status, long sequence, string server = "s1", Severity severity = Severity.Critical) =>
        new(id, "r1", server, "High", severity, status, "m", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, sequence);

    [Fact]
    public async Task Filters_pages_and_counts_in_sql_and_never_lets_an_older_write_win()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        var store = new PostgresListingStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource));
        for (var i = 0; i < 25; i++)
        {
            await store.UpsertAsync(Alert($"r1:s{i:00}", i % 5 == 0 ? AlertStatus.Inactive : AlertStatus.Firing, 1, server: $"s{i:00}",
                severity: i % 2 == 0 ? Severity.Critical : Severity.Warning));
        }

        var (page, total) = await store.QueryAsync<AlertEntry>(new() { ["status"] = "firing" }, take: 7, skip: 7);
        Assert.Equal(20, total);
        Assert.Equal(["r1:s09", "r1:s11", "r1:s12", "r1:s13", "r1:s14", "r1:s16", "r1:s17"], page.Select(e => e.Id));
        var (critical, criticalTotal) = await store.QueryAsync<AlertEntry>(new() { ["severity"] = "critical" }, 100, 0, exclude: new() { ["status"] = "inactive" });
        Assert.Equal(10, criticalTotal); // 13 even ids, less 0, 10 and 20, which are inactive
        Assert.All(critical, e => Assert.Equal(Severity.Critical, e.Severity));
        Assert.Equal(20, (await store.CountByAsync<AlertEntry>("status"))["firing"]);
        var (beyond, beyondTotal) = await store.QueryAsync<AlertEntry>([], 10, 100);
        Assert.Empty(beyond);
        Assert.Equal(25, beyondTotal);

        await store.UpsertAsync(Alert("r1:s01", AlertStatus.Resolved, 5, "s01"));
        await store.UpsertAsync(Alert("r1:s01", AlertStatus.Firing, 4, "s01")); // late, older: ignored
        var (one, _) = await store.QueryAsync<AlertEntry>(new() { ["serverId"] = "s01" }, 10, 0);
        Assert.Equal(AlertStatus.Resolved, Assert.Single(one).Status);

        await store.RemoveAsync<AlertEntry>("r1:s01");
        Assert.Equal(0, (await store.QueryAsync<AlertEntry>(new() { ["serverId"] = "s01" }, 10, 0)).Total);
    }

    /// <summary>The fleet query in SQL and in the embedded shards gives the same answer.</summary>
    [Fact]
    public async Task Label_matchers_text_and_a_numeric_sort_select_the_same_servers_in_sql_as_in_memory()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        var store = new PostgresListingStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource));
        var entries = new List<ServerEntry>();
        for (var i = 0; i < 12; i++)
        {
            var server = new Monitoring.Servers.McpServer($"srv-{i:00}", i % 3 == 0 ? $"Search {i}" : $"Files {i}", "http://x/mcp",
                new() { ["team"] = i % 2 == 0 ? "db" : "search", ["env"] = i < 6 ? "prod" : "staging" }, true, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
            var metrics = i == 5 ? new Dictionary<string, double>() : new() { ["error_rate"] = (i * 7 % 12) / 12.0, ["up"] = 1 };
            var entry = new ServerEntry(server) { Health = i % 4 == 0 ? "unhealthy" : "healthy", Metrics = metrics, ListedAt = DateTimeOffset.UnixEpoch.AddSeconds(i) };
            entries.Add(entry);
            await store.UpsertAsync(entry);
        }
        Assert.True(Monitoring.Silences.MatcherText.TryParseList("{team=~\"d.*|search\", env!=\"staging\"}", out var matchers, out var error), error);
        Assert.Equal(2, matchers.Length);
        var queries = new[]
        {
            new ListingQuery(100, 0) { Matchers = matchers, SortBy = "error_rate", Descending = true },
            new ListingQuery(100, 0) { Text = "search", SortBy = "error_rate" },
            new ListingQuery(3, 2) { Filter = new() { ["health"] = "healthy" }, SortBy = "error_rate", Descending = true },
            new ListingQuery(100, 0) { Matchers = [new Monitoring.Silences.Matcher("team", Monitoring.Silences.MatchOperator.NotRegex, "db")] },
        };
        foreach (var query in queries)
        {
            var expected = query.Order(entries.Where(e => query.Selects(e))).ToList();
            var (items, total) = await store.QueryAsync<ServerEntry>(query);
            Assert.Equal(expected.Count, total);
            Assert.Equal(expected.Skip(query.Skip).Take(query.Take).Select(e => e.Id), items.Select(e => e.Id));
        }
    }
}
