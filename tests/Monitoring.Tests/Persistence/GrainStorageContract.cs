using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Rules;
using Orleans.Storage;

namespace Monitoring.Tests.Persistence;

/// <summary>What every grain storage provider promises, checked the same way for each of them.</summary>
public static class GrainStorageContract
{
    public sealed class Held<T>(T state) : IGrainState<T>
    {
        [System.Diagnostics.CodeAnalysis.AllowNull] public T State { get; set; } = state;
        public string? ETag { get; set; }
        public bool RecordExists { get; set; }
    }

    public static AlertRule Rule(string name) =>
        new("r1", name, "up == 0", TimeSpan.Zero, Severity.Info, [], "a", TimeSpan.Zero, null, [], true, true, [], DateTimeOffset.UnixEpoch);

    /// <summary>Two readers of one version: the first write wins, the second (and a second creator) is refused, and nothing changes.</summary>
    public static async Task A_write_from_a_stale_read_is_refused_and_changes_nothing(IGrainStorage storage, GrainId id)
    {
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
        // Two creators racing: the second insert finds the row and is refused too.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("rule", id, new Held<AlertRuleState>(new AlertRuleState())));

        var now = new Held<AlertRuleState>(new AlertRuleState());
        await storage.ReadStateAsync("rule", id, now);
        Assert.Equal("A", now.State.Rule!.Name);
        Assert.Equal("2", now.ETag);
        Assert.True(now.RecordExists);
    }
}
