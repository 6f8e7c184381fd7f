using Microsoft.Extensions.DependencyInjection;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Hosting.Persistence;
using Monitoring.Rules;
using Orleans.Serialization;
using Orleans.Storage;

namespace Monitoring.Tests.Persistence;

/// <summary>The embedded mode's grain storage: versions refuse stale writes, and what is stored is a copy.</summary>
public sealed class InProcessGrainStorageTests
{
    private sealed class Held<T>(T state) : IGrainState<T>
    {
        [System.Diagnostics.CodeAnalysis.AllowNull] public T State { get; set; } = state;
        public string? ETag { get; set; }
        public bool RecordExists { get; set; }
    }

    private static InProcessGrainStorage Storage() =>
        new("test", new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    private static AlertRule Rule(string name) =>
        new("r1", name, "up == 0", TimeSpan.Zero, Severity.Info, [], "a", TimeSpan.Zero, null, [], true, true, [], DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_changes_nothing()
    {
        var storage = Storage();
        var id = GrainId.Create("alertrule", "r1");
        var missing = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        await storage.WriteStateAsync("rule", id, new Held<AlertRuleState>(new AlertRuleState()));

        var a = new Held<AlertRuleState>(new AlertRuleState());
        var b = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, a);
        await storage.ReadStateAsync("rule", id, b);
        a.State.Rule = Rule("A");
        await storage.WriteStateAsync("rule", id, a);
        Assert.Equal("2", a.ETag);

        b.State.Rule = Rule("B");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("rule", id, b));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("rule", id, b));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("rule", id, new Held<AlertRuleState>(new AlertRuleState())));

        var now = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, now);
        Assert.Equal("A", now.State.Rule!.Name);
        Assert.Equal("2", now.ETag);
        Assert.True(now.RecordExists);

        await storage.ClearStateAsync("rule", id, now);
        var cleared = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, cleared);
        Assert.False(cleared.RecordExists);
    }

    [Fact]
    public async Task What_is_stored_is_a_copy_that_later_changes_to_the_grains_state_do_not_reach()
    {
        var storage = Storage();
        var id = GrainId.Create("alertrule", "r2");
        var held = new Held<AlertRuleState>(new AlertRuleState { Rule = Rule("Stored") });
        await storage.WriteStateAsync("rule", id, held);
        held.State.Rule = Rule("Changed in memory only");

        var read = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, read);
        Assert.Equal("Stored", read.State.Rule!.Name);
        Assert.NotSame(held.State, read.State);
        // Another name, or another grain, is another row.
        var other = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("other", id, other);
        Assert.False(other.RecordExists);
    }
}
