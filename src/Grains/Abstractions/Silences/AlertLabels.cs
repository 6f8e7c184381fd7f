using Monitoring.Common;

namespace Monitoring.Silences;

/// <summary>
/// The labels of an alert, as silences match them and Alertmanager receivers see them: the server's own labels, with
/// alertname (the rule's name), alert_id, rule_id, server_id and severity on top.
/// </summary>
public static class AlertLabels
{
    public static SortedDictionary<string, string> Of(
        string alertId, string ruleId, string ruleName, string serverId, Severity severity, IReadOnlyDictionary<string, string> serverLabels)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in serverLabels) labels[name] = value;
        labels["alertname"] = ruleName;
        labels["alert_id"] = alertId;
        labels["rule_id"] = ruleId;
        labels["server_id"] = serverId;
        labels["severity"] = severity.ToString().ToLowerInvariant();
        return labels;
    }
}
