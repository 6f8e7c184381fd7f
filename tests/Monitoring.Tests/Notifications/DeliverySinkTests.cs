using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>A channel reports to the sink its message names, whoever sent it; messages stored before it was named still report.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DeliverySinkTests(ClusterFixture cluster)
{
    private static Notification Message(string alertId) => new(alertId, "r", "Rule", "s", "S", Severity.Critical, NotificationKind.Firing, "firing",
        "m", 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, [], [], "up == 0", 1);

    [Fact]
    public void A_message_reports_to_the_sink_it_names_and_an_older_one_by_the_shape_of_its_id()
    {
        var alert = cluster.Grains.GetGrain<IAlertGrain>("rule-1:server-1");
        var incident = cluster.Grains.GetGrain<IIncidentGrain>("inc-0123456789abcdef0123");

        // Named: whatever its AlertId looks like, the report goes where the sender said.
        Assert.Equal(incident.GetGrainId(), DeliverySinks.Of(cluster.Grains, Message("rule-1:server-1") with { ReportTo = incident.GetGrainId().ToString() }).GetGrainId());
        Assert.Equal(alert.GetGrainId(), DeliverySinks.Of(cluster.Grains, Message("anything") with { ReportTo = alert.GetGrainId().ToString() }).GetGrainId());

        // Stored before the sink was named (no ReportTo): an incident's id or an alert's.
        Assert.Equal(incident.GetGrainId(), DeliverySinks.Of(cluster.Grains, Message("inc-0123456789abcdef0123")).GetGrainId());
        Assert.Equal(alert.GetGrainId(), DeliverySinks.Of(cluster.Grains, Message("rule-1:server-1")).GetGrainId());
    }
}
