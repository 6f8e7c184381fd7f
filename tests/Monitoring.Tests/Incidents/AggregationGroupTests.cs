using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Routing;

namespace Monitoring.Tests.Incidents;

/// <summary>
/// Alertmanager's aggregation group as a pure type: the state, the inputs and the time go in; the next state and the
/// actions come out. No cluster: each row is one flush of a group whose history the row describes.
/// </summary>
public sealed class AggregationGroupTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan GroupInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RepeatInterval = TimeSpan.FromHours(4);
    private static readonly Receiver Ops = new("ops", ["ops-webhook"], null);

    private static IncidentMember Member(string id, MemberStatus status) =>
        new(id, 1, status, new Dictionary<string, string> { ["alertname"] = "High error rate" }, "r", "High error rate", id, id, Severity.Critical,
            "Error rate above 5%", "error_rate > 0.05", T0, null, []);

    /// <summary>A group due now: members "firing" (f1…) and "resolved" (r1…) as given, with what was told before.</summary>
    private static IncidentState Group(string members, string told = "", bool first = false, bool acknowledged = false, TimeSpan? lastSentAgo = null)
    {
        var state = new IncidentState { NextFlushAt = T0, FirstFlushAt = first ? null : T0 - GroupInterval, LastNotifiedAt = T0 - (lastSentAgo ?? GroupInterval) };
        foreach (var id in members.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            state.Members[id] = Member(id, id.StartsWith('r') ? MemberStatus.Resolved : id.StartsWith('m') ? MemberStatus.Muted : MemberStatus.Firing);
        }
        foreach (var id in told.Split(',', StringSplitOptions.RemoveEmptyEntries)) state.NotifiedFiring.Add(id);
        if (told.Length > 0) state.NotifiedChannels.Add("ops-webhook");
        if (acknowledged) state.AcknowledgedAt = T0 - TimeSpan.FromMinutes(1);
        return state;
    }

    private static string Describe(IEnumerable<GroupAction> actions) => string.Join(" | ", actions.Select(a => a switch
    {
        SendGroupMessage m => $"{m.Kind.ToString().ToLowerInvariant()}:{string.Join(",", m.Alerts.Select(x => x.AlertId).Order())}",
        NoteGroupEvent e => e.Kind,
        CloseGroup => "close",
        StartGroupPolicy p => $"policy:{p.PolicyId}",
        CancelGroupPages c => $"cancel:{c.Reason}",
        _ => "?",
    }));

    [Theory]
    // members, told before, first flush, acknowledged, hours since the last message → the actions, in order
    [InlineData("f1,f2", "", true, false, 0, "firing:f1,f2")]                   // the first message after group_wait
    [InlineData("f1,f2", "f1,f2", false, false, 0, "")]                         // nothing changed: nothing said
    [InlineData("f1,f2,f3", "f1,f2", false, false, 0, "firing:f1,f2,f3")]       // a new alert: one update
    [InlineData("f1,r2", "f1,r2", false, false, 0, "firing:f1,r2")]             // one resolved: the update lists it resolved
    [InlineData("f1,f2", "f1,f2", false, false, 4, "repeat:f1,f2")]             // repeat_interval passed: the same again
    [InlineData("f1,f2", "f1,f2", false, true, 4, "")]                          // acknowledged: no repeat
    [InlineData("f1,f2,f3", "f1,f2", false, true, 0, "")]                       // acknowledged: a joining alert does not page
    [InlineData("r1,r2", "r1,r2", false, false, 0, "resolved:r1,r2 | close")]   // all resolved: one resolved message
    [InlineData("r1", "", true, false, 0, "close")]                             // resolved before anyone heard: closes quietly
    [InlineData("m1", "", true, false, 0, "")]                                  // only silenced alerts: nothing to say
    public void A_flush_says_what_changed_once(string members, string told, bool first, bool acknowledged, int hoursSince, string expected)
    {
        var state = Group(members, told, first, acknowledged, hoursSince > 0 ? TimeSpan.FromHours(hoursSince) : null);

        var actions = AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), null), T0);

        Assert.Equal(expected, Describe(actions));
        if (!expected.Contains("close")) Assert.Equal(T0 + GroupInterval, state.NextFlushAt);
        Assert.Equal(first ? T0 : T0 - GroupInterval, state.FirstFlushAt);
    }

    [Fact]
    public void Not_yet_due_decides_nothing_and_changes_nothing()
    {
        var state = Group("f1", first: true);
        state.NextFlushAt = T0.AddSeconds(1);

        Assert.Empty(AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), null), T0));
        Assert.Null(state.FirstFlushAt);
    }

    [Fact]
    public void A_time_interval_holds_messages_and_they_go_out_when_it_ends()
    {
        var state = Group("f1", first: true);
        var held = AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), "weekends"), T0);
        Assert.Equal("muted", Describe(held));
        Assert.Equal(T0, state.MutedSince);

        var later = T0 + GroupInterval;
        var released = AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), null), later);
        Assert.Equal("unmuted | firing:f1", Describe(released));
        Assert.Null(state.MutedSince);
    }

    [Fact]
    public void Inhibited_alerts_are_not_listed_and_the_first_message_starts_the_receivers_policy()
    {
        var state = Group("f1,f2", first: true);
        var receiver = Ops with { EscalationPolicy = "oncall" };

        var actions = AggregationGroup.Flush(state, new FlushInputs(receiver, GroupInterval, RepeatInterval, new HashSet<string> { "f2" }, null), T0);

        Assert.Equal("firing:f1 | policy:oncall", Describe(actions));
        Assert.Equal(["f1"], state.NotifiedFiring);
    }

    [Fact]
    public void A_resolution_goes_to_every_channel_told_and_a_muted_one_is_said_in_the_reason()
    {
        var state = Group("r1", "r1");
        state.NotifiedChannels.Add("lead-webhook");
        var resolved = (SendGroupMessage)AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), null), T0)[0];
        Assert.Equal(["lead-webhook", "ops-webhook"], resolved.Channels.Order());

        var muted = Group("r1", "r1");
        var close = Assert.IsType<CloseGroup>(Assert.Single(AggregationGroup.Flush(muted, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), "nights"), T0)));
        Assert.Contains("muted by nights", close.Reason);
    }

    /// <summary>A policy of two levels (5 and 10 minutes apart), one repeat round 30 minutes after the last level.</summary>
    private static readonly Monitoring.Escalation.EscalationPolicy TwoLevels = new("oncall", "On call",
        [new(TimeSpan.FromMinutes(5), ["ops-webhook"]), new(TimeSpan.FromMinutes(10), ["lead-webhook"]) { Users = ["ann"] }], 1, TimeSpan.FromMinutes(30), T0);

    [Theory]
    // minutes after the policy started, steps taken before, acknowledged, what fires → what is told now (a message to
    // "level:channels", "!" when it says escalated, "+person" paged, "^" the timeline's escalated line), and the next
    // step due (minutes, or -)
    [InlineData(4, 0, false, "f1", "", "5")]                                          // nothing due yet
    [InlineData(5, 0, false, "f1", "1:ops-webhook", "15")]                            // level 1 at its delay
    [InlineData(15, 1, false, "f1", "2:lead-webhook! +ann ^", "45")]                  // level 2 its own delay later, with its person
    [InlineData(16, 0, false, "f1", "1:ops-webhook 2:lead-webhook! +ann ^", "45")]    // late (a silo's death): both, in order, each at its own time
    [InlineData(50, 2, false, "f1", "1:ops-webhook! ^", "55")]                        // the repeat round (escalated still) starts 30 minutes after the last level
    [InlineData(100, 3, false, "f1", "2:lead-webhook! +ann ^", "-")]                  // the last step of the last round: nothing after it
    [InlineData(100, 4, false, "f1", "", "-")]                                        // done
    [InlineData(16, 0, true, "f1", "", "5")]                                          // acknowledged: escalation stops
    [InlineData(16, 0, false, "", "", "45")]                                          // nothing fires: the steps pass untold
    [InlineData(16, 0, false, "inhibited", "", "45")]                                 // only an inhibited alert fires: the same
    public void Escalation_runs_once_per_group_each_step_at_its_time_until_acknowledged(int minutes, int taken, bool acknowledged, string firing, string expected, string next)
    {
        var state = Group("r1", "r1", acknowledged: acknowledged);
        if (firing.Length > 0) state.Members[firing] = Member(firing, MemberStatus.Firing);
        state.Policy = TwoLevels;
        // When the next step falls due after `taken` steps, walking the policy's delays from its start at T0.
        var due = TwoLevels.FirstStepAt(T0);
        for (var step = 0; step < taken; step++) due = TwoLevels.Step(step, due).NextAt ?? due;
        (state.PolicyStep, state.NextPolicyStepAt) = (taken, taken < TwoLevels.TotalSteps ? due : null);

        var actions = AggregationGroup.Escalate(state, Ops, new HashSet<string> { "inhibited" }, T0.AddMinutes(minutes));

        Assert.Equal(expected, string.Join(" ", actions.Select(a => a switch
        {
            SendGroupMessage { Kind: NotificationKind.Escalation } m => $"{m.Level}:{string.Join(",", m.Channels)}{(m.Status == "escalated" ? "!" : "")}",
            PageGroupPeople p => $"+{string.Join(",", p.Step.Users)}",
            NoteGroupEvent { Kind: "escalated" } => "^",
            _ => a.ToString(),
        })));
        Assert.Equal(next, state.NextPolicyStepAt is { } at && state.PolicyStep < TwoLevels.TotalSteps ? (at - T0).TotalMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-");
    }

    [Fact]
    public void Without_its_receiver_a_due_step_passes_untold()
    {
        var state = Group("f1", "f1", acknowledged: false);
        state.Policy = TwoLevels;
        (state.PolicyStep, state.NextPolicyStepAt) = (0, TwoLevels.FirstStepAt(T0));
        Assert.Empty(AggregationGroup.Escalate(state, null, new HashSet<string>(), T0.AddMinutes(5)));
        Assert.Equal(1, state.PolicyStep);
    }

    [Fact]
    public void A_new_episode_forgets_the_last_one_and_waits_group_wait_and_closing_leaves_nothing_due()
    {
        var state = Group("r1", "r1", acknowledged: true);
        state.Policy = TwoLevels;
        state.FollowUps.Add(new PendingPage("ops-webhook", "t", "k", T0.AddMinutes(5)));
        AggregationGroup.Close(state, T0);
        Assert.False(state.IsOpen);
        Assert.Null(AggregationGroup.NextDue(state));
        Assert.Equal(T0, state.ResolvedAt);

        state.Members["f1"] = Member("f1", MemberStatus.Firing);
        var route = new RouteMatch("0", "ops", ["alertname"], TimeSpan.FromSeconds(30), GroupInterval, RepeatInterval, [], [], new(), "inc-1");
        var line = AggregationGroup.Open(state, route, "f1", T0.AddMinutes(1));

        Assert.Equal("episode 1 opened by f1; first message after 30s", line);
        Assert.Equal((T0.AddMinutes(1).AddSeconds(30), (DateTimeOffset?)null, (string?)null), (state.NextFlushAt!.Value, state.AcknowledgedAt, state.AcknowledgedBy));
        Assert.Empty(state.NotifiedFiring);
        Assert.Empty(state.NotifiedChannels);
        Assert.Empty(state.FollowUps);
        Assert.Null(state.Policy);
        Assert.Equal(T0.AddMinutes(1).AddSeconds(30), AggregationGroup.NextDue(state));
    }

    [Theory]
    // open, acknowledged before, by → the actions, and who the incident says acknowledged
    [InlineData(true, false, "ana", "acknowledged | cancel:acknowledged by ana", "ana")]
    [InlineData(true, false, null, "acknowledged | cancel:acknowledged", null)]
    [InlineData(true, true, "ana", "", "earlier")]     // twice: the first stands, nothing is said again
    [InlineData(false, false, "ana", "", null)]        // resolved: nothing to acknowledge
    public void Acknowledging_stops_escalation_and_cancels_later_pages_once(bool open, bool before, string? by, string expected, string? acknowledgedBy)
    {
        var state = Group("f1", "f1");
        state.OpenedAt = T0.AddHours(-1);
        if (!open) AggregationGroup.Close(state, T0.AddMinutes(-1));
        if (before) (state.AcknowledgedAt, state.AcknowledgedBy) = (T0.AddMinutes(-2), "earlier");

        var actions = AggregationGroup.Acknowledge(state, by, T0);

        Assert.Equal(expected, Describe(actions));
        Assert.Equal(acknowledgedBy, state.AcknowledgedBy);
        Assert.Equal(open ? before ? T0.AddMinutes(-2) : T0 : null, state.AcknowledgedAt);
        Assert.Empty(AggregationGroup.Escalate(state, Ops, new HashSet<string>(), T0.AddHours(1)));
    }

    [Fact]
    public void Resolving_by_hand_resolves_every_open_alert_and_the_next_flush_tells_and_closes_at_once()
    {
        var state = Group("f1,f2,r3", "f1,f2,r3");
        state.OpenedAt = T0.AddHours(-1);
        state.NextFlushAt = T0.AddMinutes(3);

        Assert.Equal("resolved", Describe(AggregationGroup.Resolve(state, "ana", T0)));
        Assert.All(state.Members.Values, m => Assert.Equal(MemberStatus.Resolved, m.Status));
        Assert.Equal(T0, state.Members["f1"].EndsAt);
        Assert.Null(state.Members["r3"].EndsAt); // resolved before: its end is its own
        Assert.Equal(T0, state.NextFlushAt);

        var flush = AggregationGroup.Flush(state, new FlushInputs(Ops, GroupInterval, RepeatInterval, new HashSet<string>(), null), T0);
        Assert.Equal("resolved:f1,f2,r3 | close", Describe(flush));

        AggregationGroup.Close(state, T0);
        Assert.Empty(AggregationGroup.Resolve(state, "ana", T0.AddMinutes(1))); // over: nothing more
    }
}
