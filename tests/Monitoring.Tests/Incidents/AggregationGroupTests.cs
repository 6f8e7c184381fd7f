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
}
