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
/// server recovered. The new activation claims its row, and an open alert that says it sleeps is counted open.
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
    public async Task A_server_back_with_a_record_older_than_its_alert_counts_the_alert_open_when_it_sleeps_and_its_recovery_resolves_it()
    {
        var s = new Scenario(fixture);
        await s.SetUpAsync(labels: s.Labels);
        var before = new GrainState<McpServerState>(new McpServerState());
        await fixture.ServerStorage.ReadStateAsync("server", s.Server.GetGrainId(), before);
        await s.PushAsync(failures: 50, successes: 0);
        await s.WaitForHooksAsync(1);
        await s.AsleepAsync(); // its message delivered, and said so to the server
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);

        // The server comes back with the record from before the breach and no window: what an activation that read its
        // row just before the old one's last write holds.
        await s.Server.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var serverId = s.Server.GetGrainId();
        await Eventually.TrueAsync(async () => !(await management.GetActiveGrains(serverId.Type)).Contains(serverId), "the server's activation to be gone");
        var stored = new GrainState<McpServerState>(new McpServerState());
        await fixture.ServerStorage.ReadStateAsync("server", s.Server.GetGrainId(), stored);
        Assert.Contains(s.RuleId, stored.State!.OpenAlertRules);
        stored.State = before.State;
        await fixture.ServerStorage.WriteStateAsync("server", s.Server.GetGrainId(), stored);
        var window = new GrainState<ServerWindowState>(new ServerWindowState());
        await fixture.ServerStorage.ReadStateAsync("window", s.Server.GetGrainId(), window);
        window.State = new ServerWindowState();
        await fixture.ServerStorage.WriteStateAsync("window", s.Server.GetGrainId(), window);
        Assert.Empty((await s.Server.GetStatusAsync())!.OpenAlerts);

        // Healthy data reaches nobody: the server does not know the alert is open.
        await s.PushAsync(failures: 0, successes: 100);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());

        // The alert is acknowledged, goes back to sleep, and says so: the server counts it open again.
        Assert.True((await s.Alert.AcknowledgeAsync("oncall")).Succeeded);
        await Eventually.TrueAsync(async () => (await s.Server.GetStatusAsync())!.OpenAlerts.Contains(s.AlertId), "the server to count the alert open");

        // Its next evaluation tells the alert the condition is clear.
        fixture.Time.Advance(TimeSpan.FromSeconds(15));
        await s.Server.EvaluateAsync();
        await s.WaitForStatusAsync(AlertStatus.Resolved);
        Assert.Equal("resolved", (await s.WaitForHooksAsync(2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
    }
}
