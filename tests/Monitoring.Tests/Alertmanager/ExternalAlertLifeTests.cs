using Monitoring.External;
using Monitoring.Routing;

namespace Monitoring.Tests.Alertmanager;

/// <summary>
/// The life of an Alertmanager-API alert as a table, without a cluster: how a re-send merges (Alertmanager's overlap
/// rule), when it is a new episode, the status its incidents hear, and when they must hear a new word. Times are
/// minutes from a fixed now.
/// </summary>
public sealed class ExternalAlertLifeTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(double minutes) => Now.AddMinutes(minutes);

    private static PostedAlert Posted(double starts, double ends, bool timeout = false, string summary = "new") =>
        new("00000000000000aa", new() { ["alertname"] = "Down", ["instance"] = "i-1" }, new() { ["summary"] = summary }, At(starts), At(ends), timeout, null);

    private static ExternalAlertRecord Known(double starts, double ends, bool timeout = false, int episode = 1, bool acknowledged = false) => new()
    {
        Labels = new() { ["alertname"] = "Down", ["instance"] = "i-1" },
        Annotations = new() { ["summary"] = "old" },
        StartsAt = At(starts),
        EndsAt = At(ends),
        Timeout = timeout,
        Episode = episode,
        Sequence = 7,
        Routes = [new RouteMatch("0", "team", [], TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromHours(4), [], [], new(), "inc-1")],
        ReportedStatus = MemberStatus.Firing,
        ReportedEpisode = episode,
        AcknowledgedAt = acknowledged ? At(-1) : null,
        AcknowledgedBy = acknowledged ? "ann" : null,
    };

    public static TheoryData<string, ExternalAlertRecord?, PostedAlert, bool, double, double, bool, int, bool, MemberStatus> Takes => new()
    {
        // case, known, posted, merged into the known record, starts, ends, timeout, episode, still acknowledged, status
        { "first post: a new record, episode 1", null, Posted(-2, 5, timeout: true), false, -2, 5, true, 1, false, MemberStatus.Firing },
        { "a re-send extends a timeout end", Known(-10, 2, timeout: true), Posted(-10, 7, timeout: true), true, -10, 7, true, 1, false, MemberStatus.Firing },
        { "an earlier start is kept", Known(-5, 2, timeout: true), Posted(-8, 7, timeout: true), true, -8, 7, true, 1, false, MemberStatus.Firing },
        { "an explicit later end rules over a newer timeout end", Known(-10, 30), Posted(-10, 7, timeout: true), true, -10, 30, false, 1, false, MemberStatus.Firing },
        { "a newer explicit end wins over a timeout end", Known(-10, 30, timeout: true), Posted(-10, 20), true, -10, 20, false, 1, false, MemberStatus.Firing },
        { "the source resolves it: the end is now past", Known(-10, 5, timeout: true, acknowledged: true), Posted(-10, -1), true, -10, -1, false, 1, true, MemberStatus.Resolved },
        { "both resolved: the latest explicit end wins", Known(-10, -1), Posted(-10, -3), true, -10, -1, false, 1, false, MemberStatus.Resolved },
        { "resolved, then sent firing over its range: the same record, a new episode, unacknowledged", Known(-10, -1, acknowledged: true), Posted(-10, 5, timeout: true), true, -10, 5, true, 2, false, MemberStatus.Firing },
        { "resolved, then firing again after its end: a new record, a new episode", Known(-10, -5, episode: 3, acknowledged: true), Posted(-2, 5, timeout: true), false, -2, 5, true, 4, false, MemberStatus.Firing },
    };

    [Theory]
    [MemberData(nameof(Takes))]
    public void A_posted_alert_is_taken_as_Alertmanager_takes_it(
        string name, ExternalAlertRecord? known, PostedAlert posted, bool merged, double starts, double ends, bool timeout, int episode, bool acknowledged, MemberStatus status)
    {
        var taken = ExternalAlertLife.Take(known, posted, Now);
        Assert.True(merged == ReferenceEquals(taken, known), $"{name}: merged into the known record");
        Assert.Equal(At(starts), taken.StartsAt);
        Assert.Equal(At(ends), taken.EndsAt);
        Assert.Equal(timeout, taken.Timeout);
        Assert.Equal(episode, taken.Episode);
        Assert.Equal(acknowledged, taken.AcknowledgedAt is not null);
        Assert.Equal(status, ExternalAlertLife.StatusOf(taken, Now));
        Assert.Equal("new", taken.Annotations["summary"]); // what was posted last describes it
        if (known is not null)
        {
            // What its incidents were told is kept, so a new episode takes the alert out of and back into them in order.
            Assert.Equal(7, taken.Sequence);
            Assert.Equal(["inc-1"], taken.Routes.Select(r => r.IncidentId));
        }
    }

    [Fact]
    public void A_silenced_alert_is_muted_for_its_incidents_until_it_ends()
    {
        var alert = Known(-10, 5);
        alert.SilencedBy = ["s-1"];
        Assert.Equal(MemberStatus.Muted, ExternalAlertLife.StatusOf(alert, Now));
        Assert.Equal(MemberStatus.Resolved, ExternalAlertLife.StatusOf(alert, At(5)));
    }

    public static TheoryData<string, Action<ExternalAlertRecord>, MemberStatus, bool> News => new()
    {
        // case, change to a record told firing in its episode, status now, a new word
        { "nothing changed (a reminder's re-assertion)", _ => { }, MemberStatus.Firing, false },
        { "muted by a silence", _ => { }, MemberStatus.Muted, true },
        { "a new episode", a => a.Episode++, MemberStatus.Firing, true },
        { "never told", a => a.Sequence = 0, MemberStatus.Firing, true },
        { "routed elsewhere", a => a.Routes = [], MemberStatus.Firing, true },
    };

    [Theory]
    [MemberData(nameof(News))]
    public void Its_incidents_hear_a_new_word_only_when_something_they_know_changed(string name, Action<ExternalAlertRecord> change, MemberStatus status, bool news)
    {
        var alert = Known(-10, 5);
        change(alert);
        Assert.True(news == ExternalAlertLife.IsNews(alert, status, Known(-10, 5).Routes), name);
    }

    [Fact]
    public void As_a_member_it_is_named_by_alertname_and_instance_and_described_by_its_summary()
    {
        var alert = Known(-10, -1);
        alert.Labels["severity"] = "critical";
        var member = ExternalAlertLife.Member("00000000000000aa", alert, MemberStatus.Resolved);
        Assert.Equal(ExternalAlerts.AlertId("00000000000000aa"), member.AlertId);
        Assert.Equal(("Down", "i-1", "old", Monitoring.Common.Severity.Critical), (member.RuleName, member.ServerId, member.Message, member.Severity));
        Assert.Equal(At(-1), member.EndsAt);
        Assert.Equal(7, member.Sequence);
    }

    [Theory]
    // case, ends (minutes), status its incidents heard, silences it had, silences holding it now, about to be told → what the partition does, its silences after
    [InlineData("firing, nothing new", 5, MemberStatus.Firing, "", "", false, Rechecked.None, "")]
    [InlineData("a silence began", 5, MemberStatus.Firing, "", "s1", false, Rechecked.Changed | Rechecked.Tell, "s1")]
    [InlineData("its silence ended", 5, MemberStatus.Muted, "s1", "", false, Rechecked.Changed | Rechecked.Tell, "")]
    [InlineData("ended, its incidents heard it firing", -1, MemberStatus.Firing, "", "s9", false, Rechecked.Tell, "")]
    [InlineData("ended while silenced: the silence goes", -1, MemberStatus.Muted, "s1", "s1", false, Rechecked.Changed | Rechecked.Tell, "")]
    [InlineData("resolved and told, within its retention", -10, MemberStatus.Resolved, "", "", false, Rechecked.None, "")]
    [InlineData("resolved and told, its retention passed", -15, MemberStatus.Resolved, "", "", false, Rechecked.Remove, "")]
    [InlineData("the same, but about to be told: kept", -15, MemberStatus.Resolved, "", "", true, Rechecked.None, "")]
    public void A_look_again_updates_silences_and_says_what_to_tell_store_or_remove(string @case, double ends, MemberStatus heard, string had, string now, bool telling, Rechecked expected, string after)
    {
        _ = @case;
        var alert = Known(-30, ends);
        alert.ReportedStatus = heard;
        alert.SilencedBy = had.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var asked = false;
        var look = ExternalAlertLife.Look(alert, () => { asked = true; return now.Split(',', StringSplitOptions.RemoveEmptyEntries); }, telling, Now);
        Assert.Equal(expected, look);
        Assert.Equal(after, string.Join(",", alert.SilencedBy));
        Assert.Equal(ends > 0, asked); // an ended alert's silences are not looked up
    }

    [Theory]
    // the alerts ("ends:heard" minutes from now, heard f = firing, r = resolved, - = never told) → the next look, in seconds from now, or none
    [InlineData("", null)]
    [InlineData("10:f", 1.0)]                  // a firing alert: every second
    [InlineData("-5:r", 600.0)]                // resolved and told: at its removal, 15 minutes after its end
    [InlineData("-5:f", 1.0)]                  // ended, not yet told resolved: every second until it is
    [InlineData("-20:-", -300.0)]              // never told, its retention already passed: at once
    [InlineData("-5:r,-12:r", 180.0)]          // the earliest removal
    public void The_next_look_is_the_earliest_end_removal_or_recheck(string alerts, double? seconds)
    {
        var records = alerts.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(a =>
        {
            var (ends, heard) = (double.Parse(a.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture), a.Split(':')[1]);
            var alert = Known(-30, ends);
            alert.ReportedStatus = heard switch { "f" => MemberStatus.Firing, "r" => MemberStatus.Resolved, _ => null };
            return alert;
        });
        Assert.Equal(seconds is { } s ? Now.AddSeconds(s) : null, ExternalAlertLife.NextLook(records, Now));
    }
}
