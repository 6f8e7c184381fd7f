using Monitoring.Channels;

namespace Monitoring.Routing;

/// <summary>
/// One message of an incident, as Alertmanager's webhook groups it: its alerts (firing first, then by start, at most
/// the receiver's <c>max_alerts</c>, the rest counted), the group and common labels, and a title and fields that name
/// a rule, a server or a message only when every listed alert shares it. A pure function of the incident's state.
/// </summary>
public sealed record IncidentMessage(string IncidentId, IncidentState State, NotificationGroup Group, IncidentMember[] Listed, IncidentMember Head)
{
    public static IncidentMessage Of(string incidentId, IncidentState s, Receiver receiver, IncidentMember[] alerts, DateTimeOffset now)
    {
        var route = s.Route!;
        var listed = alerts.OrderBy(m => m.Status == MemberStatus.Resolved).ThenBy(m => m.StartsAt).ThenBy(m => m.AlertId, StringComparer.Ordinal).ToArray();
        var max = receiver.MaxAlerts > 0 ? receiver.MaxAlerts : int.MaxValue;
        var firing = listed.Count(m => m.Status != MemberStatus.Resolved);
        var group = new NotificationGroup(
            incidentId, route.Path, receiver.Name, RouteTree.GroupKey(route.Key, route.GroupLabels), route.GroupLabels, CommonLabels(listed),
            [.. listed.Take(max).Select(m => new GroupAlert(m.AlertId, m.Status == MemberStatus.Resolved ? "resolved" : "firing", m.RuleId, m.RuleName,
                m.ServerId, m.ServerName, m.Severity, m.Message, m.StartsAt, m.EndsAt, m.Labels, m.Values) { Annotations = m.Annotations, GeneratorUrl = m.GeneratorUrl })],
            firing, listed.Length - firing, Math.Max(0, listed.Length - max));
        return new IncidentMessage(incidentId, s, group, listed, listed.FirstOrDefault() ?? s.Members.Values.First());
    }

    /// <summary>The notification for one channel, under the incident's next sequence number.</summary>
    public Notification For(NotificationKind kind, string status, int level, int sequence, string reportTo, DateTimeOffset now)
    {
        var title = Group.GroupLabels.GetValueOrDefault("alertname") ?? Same(m => m.RuleName) ?? $"{Listed.Length} alerts";
        return new Notification(
            IncidentId, Same(m => m.RuleId) ?? "", title, Same(m => m.ServerId) ?? "", Same(m => m.ServerName) ?? $"{Listed.Select(m => m.ServerId).Distinct().Count()} servers",
            Listed.Length == 0 ? Head.Severity : Listed.Max(m => m.Severity), kind, status, Same(m => m.Message) ?? Head.Message, State.Episode,
            State.OpenedAt ?? now, now, Listed.Length == 1 ? Listed[0].Values : [], Group.CommonLabels, Same(m => m.Condition) ?? "", sequence)
        {
            EscalationLevel = level,
            Group = Group,
            ReportTo = reportTo,
        };
    }

    private string? Same(Func<IncidentMember, string> field) =>
        Listed.Length > 0 && Listed.All(m => field(m) == field(Head)) ? field(Head) : null;

    /// <summary>The labels every listed alert has with the same value, less the alert's own id.</summary>
    private static Dictionary<string, string> CommonLabels(IncidentMember[] members)
    {
        if (members.Length == 0) return [];
        var common = new Dictionary<string, string>(members[0].Labels, StringComparer.Ordinal);
        foreach (var member in members.Skip(1))
        {
            foreach (var (name, value) in common.ToArray())
            {
                if (!member.Labels.TryGetValue(name, out var other) || other != value) common.Remove(name);
            }
            if (common.Count == 0) break;
        }
        common.Remove("alert_id");
        return common;
    }
}
