using Monitoring.Alerts;
using Monitoring.Channels;

namespace Monitoring.Tests.Alerts;

/// <summary>What an inhibition holds back of an alert's effects (<see cref="AlertJournal.Inhibit"/>), as a table without a cluster.</summary>
public sealed class AlertInhibitionTests
{
    public static TheoryData<string, AlertEffect, string> Rows => new()
    {
        // case, the effect, what it is withheld by afterwards ("-": sent)
        { "a firing page", new PageEffect(NotificationKind.Firing, "firing", "ops", 0, 1, null), "inhibition (alert src fires)" },
        { "a repeat", new PageEffect(NotificationKind.Repeat, "firing", "ops", 0, 2, null), "inhibition (alert src fires)" },
        { "an escalation", new PageEffect(NotificationKind.Escalation, "escalated", "lead", 2, 3, null), "inhibition (alert src fires)" },
        { "a resolution always goes out", new PageEffect(NotificationKind.Resolved, "resolved", "ops", 0, 4, null), "-" },
        { "a page a silence holds keeps the silence", new PageEffect(NotificationKind.Firing, "firing", "ops", 0, 1, "silence s1"), "silence s1" },
        { "people paged", new PagePeopleEffect("escalated", 2, ["ann"], [], null), "inhibition (alert src fires)" },
        { "people a silence holds keep the silence", new PagePeopleEffect("escalated", 2, ["ann"], [], "silence s1"), "silence s1" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void An_inhibition_withholds_pages_but_never_a_resolution_or_what_a_silence_holds(string @case, AlertEffect effect, string withheldBy)
    {
        _ = @case;
        var after = AlertJournal.Inhibit(effect, "src");
        Assert.Equal(withheldBy, after switch { PageEffect p => p.WithheldBy, PagePeopleEffect p => p.WithheldBy, _ => null } ?? "-");
        Assert.Equal(withheldBy == "inhibition (alert src fires)", AlertJournal.Inhibitable(effect));
        Assert.Same(effect, AlertJournal.Inhibit(effect, null)); // nothing inhibits: unchanged
    }

    [Fact]
    public void The_known_silence_is_the_one_kept_in_the_alerts_life()
    {
        var until = new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
        Assert.Null(AlertJournal.KnownSilence(new AlertLife()));
        Assert.Equal(new ActiveSilence("s1", until, true), AlertJournal.KnownSilence(new AlertLife { SilencedBy = "s1", SilencedUntil = until, SilenceSendsResolved = true }));
    }
}
