using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Routing;

namespace Monitoring.Tests.Incidents;

/// <summary>What an incident writes into its own state, with no cluster: the recorded messages, their numbering, the timeline.</summary>
public sealed class IncidentJournalTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
    private static readonly Receiver Ops = new("ops", ["ops-webhook", "ops-slack"], null);

    private static IncidentMember Member(string id, MemberStatus status) =>
        new(id, 1, status, new Dictionary<string, string> { ["alertname"] = "High error rate", ["alert_id"] = id }, "r", "High error rate", id, id, Severity.Critical,
            "Error rate above 5%", "error_rate > 0.05", T0, null, []);

    private static IncidentState Open()
    {
        var state = new IncidentState { Route = new RouteMatch("0", "ops", ["alertname"], TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromHours(4), [], [], new(), "inc-1"), Episode = 1, OpenedAt = T0 };
        state.Members["a"] = Member("a", MemberStatus.Firing);
        state.Members["b"] = Member("b", MemberStatus.Resolved);
        return state;
    }

    [Theory]
    // the message's kind, status, channels and level → what the outbox holds ("channel#sequence kind/status level"), and the timeline's line
    [InlineData(NotificationKind.Firing, "firing", "ops-webhook,ops-slack", 0, "ops-webhook#1 Firing/firing 0, ops-slack#2 Firing/firing 0", "firing: 1 firing, 1 resolved, to ops-webhook, ops-slack")]
    [InlineData(NotificationKind.Escalation, "escalated", "lead,lead", 2, "lead#1 Escalation/escalated 2", "escalated: 1 firing, 1 resolved, to lead")] // a channel named twice is told once
    [InlineData(NotificationKind.Resolved, "resolved", "", 0, "", "resolved: 1 firing, 1 resolved, to ")]
    public void A_group_message_is_recorded_once_per_channel_under_the_next_sequence_numbers(NotificationKind kind, string status, string channels, int level, string outbox, string line)
    {
        var state = Open();
        var said = IncidentJournal.Send("inc-1", state, Ops, new SendGroupMessage(kind, status, channels.Split(',', StringSplitOptions.RemoveEmptyEntries), [.. state.Members.Values], level), "report-to", T0);

        Assert.Equal(outbox, string.Join(", ", state.Outbox.Select(h => $"{h.ChannelId}#{h.Notification.Sequence} {h.Notification.Kind}/{h.Notification.Status} {h.Notification.EscalationLevel}")));
        Assert.Equal(line, said);
        Assert.Equal(state.Outbox.Select(h => h.ChannelId).Order(), state.NotifiedChannels.Order());
        Assert.All(state.Outbox, h => Assert.Equal(("inc-1", "report-to", 2), (h.Notification.AlertId, h.Notification.ReportTo, h.Notification.Group!.Alerts.Length)));
        Assert.Equal(state.Outbox.Select(h => h.Notification.IdempotencyKey).Order(), state.Deliveries.Where(d => d.State == DeliveryState.Pending).Select(d => d.IdempotencyKey).Order());
    }

    [Fact]
    public void The_timeline_keeps_its_last_lines_and_the_view_and_summary_say_the_status()
    {
        var state = Open();
        for (var i = 0; i < IncidentJournal.MaxTimeline + 5; i++) IncidentJournal.Event(state, T0.AddSeconds(i), "note", $"line {i}");
        Assert.Equal(IncidentJournal.MaxTimeline, state.Timeline.Count);
        Assert.Equal("line 5", state.Timeline[0].Text);

        Assert.Equal(IncidentStatus.Open, IncidentJournal.View("inc-1", state, [])!.Status);
        state.AcknowledgedAt = T0;
        Assert.Equal((IncidentStatus.Acknowledged, 1, 2), IncidentJournal.Summary("inc-1", state, T0) is { } s ? (s.Status, s.Firing, s.Total) : default);
        Assert.Null(IncidentJournal.View("inc-1", new IncidentState(), []));
    }
}
