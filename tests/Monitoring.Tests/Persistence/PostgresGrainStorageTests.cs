using System.Text.Json;
using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Listings;
using Monitoring.Hosting.Persistence;
using Monitoring.Rules;
using Monitoring.Servers;
using Monitoring.Silences;
using Orleans.Storage;

using static Monitoring.Tests.Persistence.GrainStorageContract;

namespace Monitoring.Tests.Persistence;

/// <summary>The PostgreSQL grain storage against a real server: migrations, round trips of every state, concurrency, keys.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresGrainStorageTests(PostgresFixture pg)
{
    private async Task<PostgresGrainStorage> StorageAsync()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        return new PostgresGrainStorage("test", new StatementBatcher(pg.DataSource), schema);
    }

    [Fact]
    public async Task Migrations_are_idempotent_and_safe_when_silos_start_together()
    {
        var schema = PostgresFixture.NewSchema();
        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Schema.MigrateAsync(pg.DataSource, schema)));
        Assert.Equal(Schema.Migrations.Count, applied.Sum());
        Assert.Equal(0, await Schema.MigrateAsync(pg.DataSource, schema));
        await using var command = pg.DataSource.CreateCommand($"SELECT count(*) FROM {schema}.schema_migrations");
        Assert.Equal((long)Schema.Migrations.Count, await command.ExecuteScalarAsync());
    }

    public static TheoryData<string, object> States()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var rule = new AlertRule("r1", "High error rate", "error_rate > 0.05", TimeSpan.FromMinutes(2), Severity.Critical, ["ops"], "msg",
            TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), ["esc"], true, true, new() { ["env"] = "prod" }, now)
        {
            Templates = new MessageTemplates("{{ rule_name }}", null),
            EscalationPolicy = "oncall",
        };
        var server = new McpServer("s1", "Search", "http://127.0.0.1:3001/mcp", new() { ["env"] = "prod" }, true, now, now)
        {
            Probe = new ProbeSettings(true, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5), new() { ["Authorization"] = "Bearer x" }, ["search"]),
            MetricsUrl = "http://127.0.0.1:3001/metrics",
        };
        var notification = new Notification("r1:s1", "r1", "High", "s1", "Search", Severity.Critical, NotificationKind.Firing, "firing", "msg", 1,
            now, now, new() { ["error_rate"] = 0.5, ["nan"] = double.NaN }, new() { ["env"] = "prod" }, "error_rate > 0.05", 3)
        {
            Templates = new MessageTemplates(null, "body"),
            EscalationLevel = 2,
        };
        var delivery = new DeliveryRecord("r1:s1/1/firing/3", "r1:s1", "ops", NotificationKind.Firing, DeliveryState.Held, 2, now, now, "429");
        var policy = new EscalationPolicy("oncall", "On-call", [new EscalationLevel(TimeSpan.Zero, ["ops"]), new EscalationLevel(TimeSpan.FromMinutes(10), ["mail"])],
            1, TimeSpan.FromMinutes(15), now);
        var alert = new AlertState
        {
            Rule = rule, Server = new ServerSummary("s1", "Search", "http://x", new() { ["env"] = "prod" }),
            Life = new AlertLife
            {
                Phase = AlertPhase.Firing, Episode = 2, FiredAt = now, Values = new() { ["error_rate"] = 0.5 }, LastCondition = ConditionResult.NoData,
                SilencedUntil = now.AddHours(1), SilencedBy = "abc", Sequence = 7,
                Paging = new AlertPaging { NotifiedChannels = ["ops"], Policy = policy, PolicyStep = 1, NextPolicyStepAt = now.AddMinutes(10), AcknowledgedBy = "alice" },
            },
            Transitions = [new AlertTransition(AlertStatus.Pending, AlertStatus.Firing, now, "held")],
            Outbox = [new HandOff("ops", notification)], Deliveries = [delivery],
        };
        return new TheoryData<string, object>
        {
            { "alert", alert },
            { "server", new McpServerState { Server = server, OpenAlertRules = ["r1"], KnownTools = ["search"] } },
            { "channel", new ChannelState { Channel = new NotificationChannel("ops", "webhook", true, """{"url":"http://x"}""", now, now), HeldTotal = 3,
                LegacyOutbox = [new Monitoring.Channels.Delivery.OutboxEntry { Notification = notification, RecordedAt = now, Attempts = 2, LastError = "500", Held = true }] } },
            { "channel-log", new ChannelLogState { LegacyLog = [delivery], Threads = new() { ["r1:s1/1"] = new ThreadRef("1700.0001", now) } } },
            { "policy", new EscalationPolicyState { Policy = policy } },
            { "rule", new AlertRuleState { Rule = rule } },
            { "rules", new RuleCatalogState { Rules = new RuleSet(7, [rule]) } },
            { "silences", new SilenceCatalogState { Set = new SilenceSet(3, [new Silence("x", [new Matcher("env", MatchOperator.Regex, "pr.*")], now, now.AddHours(1), "alice", "deploy", true, now)]) } },
        };
    }

    [Theory]
    [MemberData(nameof(States))]
    public async Task Every_grain_state_round_trips_through_jsonb(string name, object original)
    {
        var storage = await StorageAsync();
        var method = typeof(PostgresGrainStorageTests).GetMethod(nameof(RoundTripAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(original.GetType());
        var (written, read) = await (Task<(string, string)>)method.Invoke(null, [storage, name, original])!;
        // jsonb keeps objects, not their key order: compare as JSON.
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(written), System.Text.Json.Nodes.JsonNode.Parse(read)), $"{written}\n{read}");
    }

    private static async Task<(string, string)> RoundTripAsync<T>(PostgresGrainStorage storage, string name, T original)
    {
        var id = GrainId.Create(name, "key-1");
        var state = new Held<T>(original);
        await storage.WriteStateAsync("s", id, state);
        var read = new Held<T>(default!);
        await storage.ReadStateAsync("s", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal("1", read.ETag);
        return (JsonSerializer.Serialize(original, PostgresGrainStorage.Json), JsonSerializer.Serialize(read.State, PostgresGrainStorage.Json));
    }

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_changes_nothing() =>
        await GrainStorageContract.A_write_from_a_stale_read_is_refused_and_changes_nothing(await StorageAsync(), GrainId.Create("alertrule", "r1"));

    [Fact]
    public async Task Rows_are_keyed_by_grain_type_and_text_keys_even_when_they_look_like_numbers()
    {
        var storage = await StorageAsync();
        string[] keys = ["0x1A", "1a", "1A", "001", "1", "1e3"];
        foreach (var key in keys)
        {
            await storage.WriteStateAsync("s", GrainId.Create("mcpserver", key), new Held<AlertRuleState>(new AlertRuleState { Rule = Named(key) }));
            await storage.WriteStateAsync("s", GrainId.Create("alertrule", key), new Held<AlertRuleState>(new AlertRuleState { Rule = Named("rule " + key) }));
        }
        foreach (var key in keys)
        {
            var server = new Held<AlertRuleState>(new AlertRuleState());
            await storage.ReadStateAsync("s", GrainId.Create("mcpserver", key), server);
            Assert.Equal(key, server.State.Rule!.Name);
            var rule = new Held<AlertRuleState>(new AlertRuleState());
            await storage.ReadStateAsync("s", GrainId.Create("alertrule", key), rule);
            Assert.Equal("rule " + key, rule.State.Rule!.Name);
        }

        var cleared = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("s", GrainId.Create("mcpserver", "0x1A"), cleared);
        await storage.ClearStateAsync("s", GrainId.Create("mcpserver", "0x1A"), cleared);
        var gone = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("s", GrainId.Create("mcpserver", "0x1A"), gone);
        Assert.False(gone.RecordExists);
        var kept = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("s", GrainId.Create("alertrule", "0x1A"), kept);
        Assert.True(kept.RecordExists);
    }

    private static AlertRule Named(string name) =>
        new("r", name, "up == 0", TimeSpan.Zero, Severity.Info, [], "m", TimeSpan.Zero, null, [], true, true, [], DateTimeOffset.UnixEpoch);
}
