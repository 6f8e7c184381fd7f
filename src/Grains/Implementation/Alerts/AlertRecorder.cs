using Monitoring.Channels.Delivery;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Observability;

namespace Monitoring.Alerts;

/// <summary>
/// Carries an alert's lifecycle effects (<see cref="AlertLifecycle"/>) into its state, as <see cref="AlertJournal"/>
/// writes them: transitions kept for the history, messages and people's pages recorded in the outbox
/// (<see cref="SenderBook"/>), later pages cancelled. Nothing leaves from here before the grain stores the state: the
/// history is appended, and the listing told, only when the grain says the state is stored.
/// </summary>
internal sealed class AlertRecorder(string alertId, Func<AlertState> state, string reportTo, IAlertHistory history, IListingStore listings, ILogger logger)
{
    private readonly List<TransitionRow> _history = [];
    private (int Sequence, AlertStatus Status)? _listed;
    private AlertState S => state();

    /// <summary>Transitions recorded and not yet in the history: the activation still has work in hand.</summary>
    public bool HasUnappended => _history.Count > 0;

    /// <summary>
    /// Records one effect, held back by the inhibition in force if it is one an inhibition holds
    /// (<see cref="AlertJournal.Inhibit"/>). Answers whether it recorded a message to store before it is handed over:
    /// one an inhibition holds is stored all the same; one a silence withholds is not.
    /// </summary>
    public async Task<bool> RecordAsync(AlertEffect effect, string? inhibitedBy, DateTimeOffset now)
    {
        switch (AlertJournal.Inhibit(effect, inhibitedBy))
        {
            case TransitionEffect t:
                _history.Add(AlertJournal.Transition(alertId, S, t, now));
                MonitoringMetrics.AlertTransitions.WithLabels(t.Transition.To.ToString().ToLowerInvariant()).Inc();
                logger.LogInformation("Alert {AlertId} {From} -> {To}: {Reason}", alertId, t.Transition.From, t.Transition.To, t.Transition.Reason);
                return false;
            case PageEffect page:
                if (AlertJournal.Page(alertId, S, page, reportTo, now))
                {
                    logger.LogDebug("Alert {AlertId} episode {Episode}: {Kind} recorded for channel {ChannelId}", alertId, S.Life.Episode, page.Kind, page.ChannelId);
                }
                else
                {
                    MonitoringMetrics.Notifications.WithLabels("any", "silenced").Inc();
                }
                return effect is PageEffect { WithheldBy: null };
            case PagePeopleEffect people:
                return await PagePeopleAsync(people, now);
            default:
                return false;
        }
    }

    /// <summary>People's later pages not yet due are dropped (the page was answered, or the episode is over); answers whether any was.</summary>
    public bool CancelFollowUps(DateTimeOffset now, string reason)
    {
        if (S.FollowUps.Count == 0) return false;
        SenderBook.CancelFollowUps(S, now, reason);
        return true;
    }

    /// <summary>
    /// Appends the transitions recorded since the last append to the history, once the state that holds them is
    /// stored. A failed append is kept and tried again with the next; the history skips what it has.
    /// </summary>
    public async Task AppendHistoryAsync()
    {
        if (_history.Count == 0) return;
        try
        {
            await history.AppendTransitionsAsync(_history);
            _history.Clear();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId}: {Count} transitions not yet in the history; will try again", alertId, _history.Count);
        }
    }

    /// <summary>
    /// Tells the listing when the sequence or the status moved; an evaluation that changed neither writes nothing. The
    /// listing is a projection: one that cannot be written in time is written with the next step, and the alert's
    /// step (its page, its server's evaluation, the push behind it) goes on.
    /// </summary>
    public async Task ListAsync(DateTimeOffset now)
    {
        var listed = (S.Life.Sequence, AlertLifecycle.StatusAt(S.Life, now));
        if (_listed == listed) return;
        var rule = S.Rule!;
        var failed = await listings.TryUpsertAsync(new AlertEntry(alertId, rule.Id, S.Server!.Id, rule.Name, rule.Severity, listed.Item2, rule.Message, S.Life.FiredAt, now, S.Life.Sequence));
        if (failed is null)
        {
            _listed = listed;
        }
        else
        {
            logger.LogWarning(failed, "Alert {AlertId}: its listing entry could not be written; trying again with the next step", alertId);
        }
    }

    /// <summary>
    /// Pages an escalation step's people (<see cref="OnCall.PeoplePager"/>): one message per contact, numbered as the
    /// lifecycle numbers its own, the later ones held by their channel until due. Answers whether any was recorded.
    /// </summary>
    private async Task<bool> PagePeopleAsync(PagePeopleEffect people, DateTimeOffset now)
    {
        var (contacts, notes) = await OnCall.PeoplePager.ResolveAsync(listings, people.Users, people.Schedules, now);
        foreach (var note in notes) logger.LogWarning("Alert {AlertId} level {Level}: {Note}", alertId, people.Level, note);
        var recorded = AlertJournal.PagePeople(alertId, S, people, contacts, reportTo, now);
        if (contacts.Length > 0) logger.LogInformation("Alert {AlertId} level {Level} paged {People}", alertId, people.Level, OnCall.PeoplePager.Describe(contacts));
        return recorded;
    }
}
