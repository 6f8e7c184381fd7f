using Microsoft.Extensions.DependencyInjection;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Hosting.Persistence;
using Monitoring.Rules;
using Orleans.Serialization;
using Orleans.Storage;
using static Monitoring.Tests.Persistence.GrainStorageContract;

namespace Monitoring.Tests.Persistence;

/// <summary>The embedded mode's grain storage: versions refuse stale writes, and what is stored is a copy.</summary>
public sealed class InProcessGrainStorageTests
{
    private static InProcessGrainStorage Storage() =>
        new("test", new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_changes_nothing()
    {
        var storage = Storage();
        var id = GrainId.Create("alertrule", "r1");
        var missing = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        await GrainStorageContract.A_write_from_a_stale_read_is_refused_and_changes_nothing(storage, id);
        var now = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, now);
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
