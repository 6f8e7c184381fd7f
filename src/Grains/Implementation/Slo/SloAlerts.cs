using System.Globalization;
using Monitoring.Common;
using Monitoring.External;

namespace Monitoring.Slo;

/// <summary>What an objective last said about one of its alerts: since when it fires, when it was said, and with which labels.</summary>
[GenerateSerializer, Alias("mcp.SloSaid")]
public sealed class SloSaid
{
    [Id(0), JsonPropertyName("FiringSince")] public DateTimeOffset? FiringSince { get; set; }
    [Id(1), JsonPropertyName("SaidAt")] public DateTimeOffset? SaidAt { get; set; }
    [Id(2), JsonPropertyName("Labels")] public Dictionary<string, string>? Labels { get; set; }
}

/// <summary>
/// An objective's alerts, decided: one per row (a server, or the set) and urgency (page, ticket), alertname
/// <c>ErrorBudgetBurn</c>, labelled with the objective, the server, the urgency (severity critical for a page, warning
/// for a ticket) and the windows that fired (<c>long</c>, <c>short</c>), and said as <see cref="SaidAlert"/> says: a
/// change of windows ends the old alert and says the new one.
/// </summary>
public static class SloAlerts
{
    public const string AlertName = "ErrorBudgetBurn";
    public static readonly string[] Urgencies = ["page", "ticket"];

    public static string Key(string? server, string urgency) => $"{server ?? "*"}|{urgency}";

    /// <summary>The posts that bring what was said in line with the readings, and the said-state to keep once they land.</summary>
    public static List<(string Key, PostedAlert Post, SloSaid After)> Decide(SloDefinition? slo, IReadOnlyList<SloRow> rows, IReadOnlyDictionary<string, SloSaid> said, DateTimeOffset now)
    {
        var posts = new List<(string, PostedAlert, SloSaid)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in slo is null ? [] : rows)
        {
            foreach (var urgency in Urgencies)
            {
                var key = Key(row.Server, urgency);
                seen.Add(key);
                var before = said.GetValueOrDefault(key) ?? new SloSaid();
                var condition = Still(slo!, row.Reading, urgency, before) ?? (urgency == "page" ? row.Reading.Page : row.Reading.Ticket);
                var labels = condition is null ? before.Labels : Labels(slo!, row.Server, condition);
                if (before.Labels is { } old && before.FiringSince is not null && labels is not null && !SameLabels(old, labels))
                {
                    var (end, _, endedAt) = SaidAlert.Decide(old, Annotations(slo!, row, urgency), false, before.FiringSince, before.SaidAt, now);
                    if (end is not null) posts.Add((key, end, new SloSaid { SaidAt = endedAt }));
                    before = new SloSaid();
                }
                if (labels is null) continue;
                var (post, since, at) = SaidAlert.Decide(labels, Annotations(slo!, row, urgency), condition is not null, before.FiringSince, before.SaidAt, now);
                if (post is not null) posts.Add((key, post, new SloSaid { FiringSince = since, SaidAt = at, Labels = condition is null ? null : labels }));
            }
        }
        // Rows that are gone (a server no longer selected, the objective deleted) end what they said.
        foreach (var (key, before) in said)
        {
            if (seen.Contains(key) || before.FiringSince is null || before.Labels is null) continue;
            var annotations = new Dictionary<string, string> { ["summary"] = "No longer evaluated", ["description"] = "the objective was deleted, or no longer selects this server" };
            var (end, _, at) = SaidAlert.Decide(before.Labels, annotations, false, before.FiringSince, before.SaidAt, now);
            if (end is not null) posts.Add((key, end, new SloSaid { SaidAt = at }));
        }
        return posts;
    }

    /// <summary>The condition an alert fires on, while it still holds: another that begins to hold too does not replace it (nor page again).</summary>
    private static BurnCondition? Still(SloDefinition slo, SloReading reading, string urgency, SloSaid before)
    {
        if (before.FiringSince is null || before.Labels is not { } labels) return null;
        return SloMath.Conditions(slo).FirstOrDefault(c => c.Urgency == urgency && SloMath.NameOf(c.Long) == labels.GetValueOrDefault("long")
            && SloMath.NameOf(c.Short) == labels.GetValueOrDefault("short") && SloMath.Holds(c, reading.BurnRates));
    }

    private static bool SameLabels(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    private static Dictionary<string, string> Labels(SloDefinition slo, string? server, BurnCondition condition)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in slo.Labels) labels[name] = value;
        labels["alertname"] = AlertName;
        labels["slo"] = slo.Id;
        if (server is not null) labels["server"] = server;
        if (slo.Tool is not null) labels["tool"] = slo.Tool;
        labels["urgency"] = condition.Urgency;
        labels["severity"] = condition.Urgency == "page" ? "critical" : "warning";
        labels["long"] = SloMath.NameOf(condition.Long);
        labels["short"] = SloMath.NameOf(condition.Short);
        return labels;
    }

    private static Dictionary<string, string> Annotations(SloDefinition slo, SloRow row, string urgency)
    {
        var r = row.Reading;
        var condition = urgency == "page" ? r.Page : r.Ticket;
        var who = row.Server is null ? "the selected servers together" : row.Server;
        var burns = string.Join(", ", SloMath.BurnWindowNames.Select((name, i) => $"{name} {Format(r.BurnRates[i])}"));
        var budget = r.BudgetRemaining is { } b ? $"{b * 100:0.#}% of the {Durations.Format(slo.Window)} error budget remains" : "no events yet in its window";
        return new Dictionary<string, string>
        {
            ["summary"] = condition is null
                ? $"{slo.Name}: {who} no longer burns its error budget fast enough to {urgency}"
                : $"{slo.Name}: {who} burns its error budget at {Format(r.BurnRates[Array.IndexOf(SloMath.BurnWindows, condition.Short)])} over {SloMath.NameOf(condition.Short)} ({urgency})",
            ["description"] = $"Objective {slo.Objective.ToString(CultureInfo.InvariantCulture)}% over {Durations.Format(slo.Window)}; burn rates: {burns}; {budget}.",
        };
    }

    private static string Format(double? burn) => burn is { } b ? $"{b.ToString("0.##", CultureInfo.InvariantCulture)}x" : "n/a";
}
