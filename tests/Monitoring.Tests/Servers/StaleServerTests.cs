using Monitoring.Alerts;
using Monitoring.Servers;
using Monitoring.Tests.Support;
using Orleans.Core.Internal;
using Orleans.Storage;

namespace Monitoring.Tests.Servers;

/// <summary>
/// A silo's death can leave a server's older activation finishing its last call while a new one starts on another
/// silo (Orleans' default directory allows it for a moment); the failover drill caught the new one with a record read
/// before the old one's last write, not knowing of the alert that write added, and the alert stayed firing after the
/// server recovered. The new activation claims its row, and a server stores an alert as open before it tells it of a breach.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StaleServerTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_new_activation_claims_its_row_so_a_late_write_from_the_old_one_is_refused()
    {
        var s = new Scenario(fixture);
        await s.SetUpAsync(labels: s.Labels);
        await s.PushAsync(failures: 50, successes: 0);
        await s.WaitForHooksAsync(1);

        // What the old activation holds: the row as it last read or wrote it.
        var old = new GrainState<McpServerState>(new McpServerState());
        await fixture.ServerStorage.ReadStateAsync("server", s.Server.GetGrainId(), old);
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.NotNull(await s.Server.GetStatusAsync()); // a new activation

        // The old activation's late write is refused: its caller is told to send again, and reaches the new one.
        await Assert.ThrowsAsync<InconsistentStateException>(() => fixture.ServerStorage.WriteStateAsync("server", s.Server.GetGrainId(), old));
    }

    [Fact]
    public async Task A_breach_reaches_its_alert_only_once_the_server_has_stored_the_alert_as_open()
    {
        // Store before hand-off: however a silo's death falls, a firing alert is one its server's stored record counts
        // open, so a new activation (whatever it read) tells it when the condition clears. Before, a server told the
        // alert first and stored after, and a new activation that read the row in between never told it.
        var s = new Scenario(fixture);
        await s.SetUpAsync(labels: s.Labels);

        // The server cannot store its open set: the breach is refused (its sender sends again) and the alert never heard it.
        fixture.ServerStorage.FailNextWrite(s.Server.GetGrainId(), "server");
        await Assert.ThrowsAnyAsync<Exception>(() => s.PushAsync(failures: 50, successes: 0));
        Assert.Equal(AlertStatus.Inactive, await s.StatusAsync());

        // Sent again, it is stored open first, then fires.
        await s.PushAsync(failures: 50, successes: 0);
        var stored = new GrainState<McpServerState>(new McpServerState());
        await fixture.ServerStorage.ReadStateAsync("server", s.Server.GetGrainId(), stored);
        Assert.Contains(s.RuleId, stored.State!.OpenAlertRules);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        await s.WaitForHooksAsync(1);

        // A new activation reads that record, and its recovery resolves the alert.
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Contains(s.AlertId, (await s.Server.GetStatusAsync())!.OpenAlerts);
        fixture.Time.Advance(TimeSpan.FromMinutes(6));
        await s.PushAsync(failures: 0, successes: 100);
        await s.WaitForStatusAsync(AlertStatus.Resolved);
    }
}
