using Monitoring.Routing;

namespace Monitoring.External;

/// <summary>
/// The life of an alert posted through the Alertmanager API, as pure functions of its record, what was posted and the
/// time (the partition grain only carries them out): how a re-send merges into the known alert, when it is a new
/// episode, what status it has for its incidents, and what it tells them.
/// </summary>
public static class ExternalAlertLife
{
    /// <summary>
    /// Takes one posted alert: merged into the known one when their active ranges overlap (as Alertmanager merges
    /// them), otherwise a new record that keeps what its incidents were told (its routes, sequence and reports), one
    /// episode on. Answers the record that now stands for the fingerprint.
    /// </summary>
    public static ExternalAlertRecord Take(ExternalAlertRecord? known, PostedAlert posted, DateTimeOffset now)
    {
        if (known is not null && Overlaps(known, posted))
        {
            Merge(known, posted, now);
            return known;
        }
        return new ExternalAlertRecord
        {
            Labels = new(posted.Labels, StringComparer.Ordinal),
            Annotations = new(posted.Annotations, StringComparer.Ordinal),
            StartsAt = posted.StartsAt,
            EndsAt = posted.EndsAt,
            Timeout = posted.Timeout,
            GeneratorUrl = posted.GeneratorUrl,
            UpdatedAt = now,
            Episode = (known?.Episode ?? 0) + 1,
            Sequence = known?.Sequence ?? 0,
            Routes = known?.Routes ?? [],
            ReportedStatus = known?.ReportedStatus,
            ReportedEpisode = known?.ReportedEpisode ?? 0,
            Inhibiting = known?.Inhibiting ?? false,
        };
    }

    /// <summary>Alertmanager merges a re-send into the known alert when their active ranges overlap; else it is a new one.</summary>
    public static bool Overlaps(ExternalAlertRecord known, PostedAlert posted) =>
        (posted.EndsAt > known.StartsAt && posted.EndsAt < known.EndsAt) || (posted.StartsAt >= known.StartsAt && posted.StartsAt < known.EndsAt)
        || (posted.StartsAt <= known.StartsAt && posted.EndsAt >= known.EndsAt);

    private static void Merge(ExternalAlertRecord known, PostedAlert posted, DateTimeOffset now)
    {
        var wasResolved = known.EndsAt <= now;
        if (posted.StartsAt < known.StartsAt) known.StartsAt = posted.StartsAt;
        if (posted.EndsAt <= now)
        {
            // The latest explicit end wins when both are resolved.
            if (!(wasResolved && known.EndsAt > posted.EndsAt)) known.EndsAt = posted.EndsAt;
            known.Timeout = false;
        }
        else if (!(known.EndsAt > posted.EndsAt && !known.Timeout))
        {
            // An explicit end that is later rules over the newer one; otherwise the newer one wins.
            known.EndsAt = posted.EndsAt;
            known.Timeout = posted.Timeout;
        }
        known.Labels = new(posted.Labels, StringComparer.Ordinal);
        known.Annotations = new(posted.Annotations, StringComparer.Ordinal);
        known.GeneratorUrl = posted.GeneratorUrl;
        known.UpdatedAt = now;
        if (wasResolved && known.EndsAt > now)
        {
            known.Episode++;
            known.AcknowledgedAt = null;
            known.AcknowledgedBy = null;
        }
    }

    /// <summary>What its incidents are told it is: resolved once it ended, muted while a silence holds it, else firing.</summary>
    public static MemberStatus StatusOf(ExternalAlertRecord alert, DateTimeOffset now) =>
        alert.EndsAt <= now ? MemberStatus.Resolved : alert.SilencedBy.Length > 0 ? MemberStatus.Muted : MemberStatus.Firing;

    /// <summary>
    /// Whether its incidents must hear a new word (a new sequence number): its status, episode or routes changed, or it
    /// was never told. A reminder's re-assertion of an unchanged alert keeps its number, so an incident that has it
    /// ignores it and one that lost it takes it again.
    /// </summary>
    public static bool IsNews(ExternalAlertRecord alert, MemberStatus status, RouteMatch[] routes) =>
        status != alert.ReportedStatus || alert.Episode != alert.ReportedEpisode || alert.Sequence == 0
        || !routes.Select(r => r.IncidentId).SequenceEqual(alert.Routes.Select(r => r.IncidentId), StringComparer.Ordinal);

    /// <summary>The alert as a member of an incident: named by <c>alertname</c>, its instance (or job), its summary.</summary>
    public static IncidentMember Member(string fingerprint, ExternalAlertRecord alert, MemberStatus status)
    {
        var name = alert.Labels.GetValueOrDefault("alertname") ?? "";
        var instance = alert.Labels.GetValueOrDefault("instance") ?? alert.Labels.GetValueOrDefault("job") ?? "";
        var message = alert.Annotations.GetValueOrDefault("summary") ?? alert.Annotations.GetValueOrDefault("description") ?? name;
        return new IncidentMember(ExternalAlerts.AlertId(fingerprint), alert.Sequence, status, alert.Labels, "", name, instance, instance,
            ExternalAlerts.SeverityOf(alert.Labels), message, "", alert.StartsAt, status == MemberStatus.Resolved ? alert.EndsAt : null, [])
        {
            Annotations = alert.Annotations,
            GeneratorUrl = alert.GeneratorUrl,
        };
    }

    /// <summary>A resolved alert is kept this long, so a late re-send merges with it rather than opening a new episode.</summary>
    public static readonly TimeSpan ResolvedRetention = TimeSpan.FromMinutes(15);

    /// <summary>How often firing alerts are looked at again for silences that began or ended.</summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An alert looked at again (each second while any fires, and at every reminder): an ended one drops its silences
    /// and, once its incidents heard it resolved and its retention passed, is removed; a live one takes the silences
    /// that hold it now. <paramref name="silencedBy"/> is asked only for a live alert; <paramref name="telling"/> says
    /// its incidents are about to be told (then it is kept). Updates the record and answers what the partition does.
    /// </summary>
    public static Rechecked Look(ExternalAlertRecord alert, Func<string[]> silencedBy, bool telling, DateTimeOffset now)
    {
        var result = Rechecked.None;
        if (alert.EndsAt <= now)
        {
            if (alert.SilencedBy.Length > 0)
            {
                alert.SilencedBy = [];
                result |= Rechecked.Changed;
            }
            if (alert.ReportedStatus is not (null or MemberStatus.Resolved)) result |= Rechecked.Tell;
            else if (now - alert.EndsAt >= ResolvedRetention && !telling) result |= Rechecked.Remove;
            return result;
        }
        var silences = silencedBy();
        if (!silences.SequenceEqual(alert.SilencedBy))
        {
            alert.SilencedBy = silences;
            result |= Rechecked.Changed;
        }
        if (StatusOf(alert, now) != alert.ReportedStatus) result |= Rechecked.Tell;
        return result;
    }

    /// <summary>
    /// When the partition must look again: at the next end, at a resolved alert's removal, and every
    /// <see cref="Recheck"/> while any alert fires (or an ended one is not yet told resolved); null when it holds none.
    /// </summary>
    public static DateTimeOffset? NextLook(IEnumerable<ExternalAlertRecord> alerts, DateTimeOffset now)
    {
        DateTimeOffset? due = null;
        var anyLive = false;
        foreach (var alert in alerts)
        {
            anyLive |= alert.EndsAt > now;
            var at = alert.EndsAt > now ? alert.EndsAt : alert.ReportedStatus is null or MemberStatus.Resolved ? alert.EndsAt + ResolvedRetention : now + Recheck;
            if (due is null || at < due) due = at;
        }
        return anyLive && (due is null || now + Recheck < due) ? now + Recheck : due;
    }
}

/// <summary>What a look at an Alertmanager-API alert asks of its partition (<see cref="ExternalAlertLife.Look"/>).</summary>
[Flags]
public enum Rechecked
{
    None = 0,
    /// <summary>Its record changed: store it (behind).</summary>
    Changed = 1,
    /// <summary>Its incidents must hear its status.</summary>
    Tell = 2,
    /// <summary>Resolved, told, and past its retention: remove it.</summary>
    Remove = 4,
}
