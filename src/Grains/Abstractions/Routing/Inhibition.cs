namespace Monitoring.Routing;

/// <summary>Alertmanager's inhibition over the firing sources: which alert, if any, inhibits one with these labels.</summary>
public static class Inhibition
{
    public static string? InhibitedBy(RoutingSet set, InhibitorSet sources, string alertId, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var rule in set.Inhibitions)
        {
            if (!rule.TargetMatchers.All(m => m.Matches(labels))) continue;
            foreach (var (sourceId, source) in sources.Alerts)
            {
                // An alert matching both sides never inhibits itself (nor does any alert that is itself the target).
                if (sourceId == alertId) continue;
                if (!rule.SourceMatchers.All(m => m.Matches(source))) continue;
                if (rule.TargetMatchers.All(m => m.Matches(source)) && rule.SourceMatchers.All(m => m.Matches(labels))) continue;
                if (rule.Equal.All(name => (source.GetValueOrDefault(name) ?? "") == (labels.GetValueOrDefault(name) ?? ""))) return sourceId;
            }
        }
        return null;
    }
}
