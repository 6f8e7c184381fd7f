using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Servers;
using Monitoring.Slo;

namespace Monitoring.Api.Contracts;

/// <summary>
/// An objective as written: a selector (label equality; all servers when empty), optionally a tool, an indicator
/// (availability, latency with a threshold that is one of the history's bounds, or probe), an objective in percent, a
/// window of 28 or 30 days, whether the servers count as one set, labels for its alerts, and optionally the Workbook's
/// burn-rate factors and the minimum events for a burn rate.
/// </summary>
public sealed record SloRequest(
    string? Id, string? Name, Dictionary<string, string>? Selector, string? Tool, string? Indicator, string? LatencyThreshold,
    double? Objective, string? Window, bool? Aggregate, Dictionary<string, string>? Labels, double[]? PageFactors, double[]? TicketFactors, int? MinEvents)
{
    public static readonly string[] Indicators = ["availability", "latency", "probe"];
    public static readonly string[] OwnLabels = ["alertname", "slo", "server", "tool", "urgency", "severity", "long", "short"];

    public SloDefinition? ToDefinition(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (Name is { Length: > 200 }) errors.Add("name", "is at most 200 characters");
        LabelRules.Check(Selector, "selector", errors);
        LabelRules.Check(Labels, "labels", errors);
        if (Labels?.Keys.FirstOrDefault(OwnLabels.Contains) is { } own) errors.Add($"labels.{own}", $"'{own}' is one of the alert's own labels ({string.Join(", ", OwnLabels)}); choose another name");
        if (Tool is { Length: 0 or > 200 }) errors.Add("tool", "is a tool's name, 1 to 200 characters");
        var indicator = SloIndicator.Availability;
        if (Indicator is not null && !Enum.TryParse(Indicator, ignoreCase: true, out indicator) || Indicator is not null && !Indicators.Contains(Indicator.ToLowerInvariant()))
        {
            errors.Add("indicator", $"'{Indicator}' is not one of: {string.Join(", ", Indicators)}");
        }
        double? threshold = null;
        if (LatencyThreshold is not null)
        {
            if (Durations.TryParse(LatencyThreshold, out var t, out var error)) threshold = t.TotalSeconds;
            else errors.Add("latencyThreshold", error);
        }
        if (Objective is null) errors.Add("objective", "is required: the percentage of good events, such as 99.5");
        var window = TimeSpan.FromDays(30);
        if (Window is not null && !Durations.TryParse(Window, out window, out var windowError)) errors.Add("window", windowError);
        if (MinEvents is < 0) errors.Add("minEvents", "is at least 0");
        // What makes an objective right beyond its shape (bounds, the threshold, the window) is checked by its grain.
        return errors.Any ? null : new SloDefinition(id!, Name ?? id!, Selector ?? [], Tool, indicator, threshold, Objective!.Value, window, Aggregate ?? false,
            Labels ?? [], PageFactors ?? SloDefinition.DefaultPageFactors, TicketFactors ?? SloDefinition.DefaultTicketFactors, MinEvents ?? SloDefinition.DefaultMinEvents, default);
    }
}

public sealed record BurnConditionResponse(string Urgency, string Long, string Short, double Factor)
{
    public static BurnConditionResponse? From(BurnCondition? c) => c is null ? null : new(c.Urgency, SloMath.NameOf(c.Long), SloMath.NameOf(c.Short), c.Factor);
}

/// <summary>One row of an objective: a server (null for the set), its indicator, budget remaining and burn rates by window.</summary>
public sealed record SloRowResponse(
    string? Server, long Events, long Good, double? Sli, double? BudgetRemaining, Dictionary<string, double?> BurnRates,
    BurnConditionResponse? Page, BurnConditionResponse? Ticket, long MeasuredSeconds, DateTimeOffset? Since)
{
    public static SloRowResponse From(SloRow row)
    {
        var r = row.Reading;
        var burns = new Dictionary<string, double?>();
        for (var i = 0; i < SloMath.BurnWindowNames.Length; i++) burns[SloMath.BurnWindowNames[i]] = r.BurnRates[i];
        return new(row.Server, r.Events, r.Good, r.Sli, r.BudgetRemaining, burns, BurnConditionResponse.From(r.Page), BurnConditionResponse.From(r.Ticket), r.MeasuredSeconds, r.Since);
    }
}

public sealed record SloResponse(
    string Id, string Name, Dictionary<string, string> Selector, string? Tool, string Indicator, string? LatencyThreshold, double Objective,
    string Window, bool Aggregate, Dictionary<string, string> Labels, double[] PageFactors, double[] TicketFactors, int MinEvents,
    DateTimeOffset UpdatedAt, DateTimeOffset? EvaluatedAt, double? BudgetRemaining, int? Servers, int Firing)
{
    public SloRowResponse[]? Rows { get; init; }

    public static SloResponse From(SloDefinition d, DateTimeOffset? evaluatedAt, double? worst, int? servers, int firing) => new(
        d.Id, d.Name, d.Selector, d.Tool, d.Indicator.ToString().ToLowerInvariant(), d.LatencyThreshold is { } t ? Durations.Format(TimeSpan.FromSeconds(t)) : null,
        d.Objective, d.Window.TotalDays % 1 == 0 ? $"{d.Window.TotalDays}d" : Durations.Format(d.Window), d.Aggregate, d.Labels, d.PageFactors, d.TicketFactors, d.MinEvents, d.UpdatedAt, evaluatedAt, worst, servers, firing);

    public static SloResponse From(Listings.SloEntry e) => From(e.Definition, e.EvaluatedAt, e.WorstBudget, e.Servers, e.Firing);

    public static SloResponse From(SloView v) => From(v.Definition, v.EvaluatedAt, v.WorstBudget, v.Rows.Count(r => r.Server is not null), v.Firing) with
    {
        Rows = [.. v.Rows.Select(SloRowResponse.From)],
    };
}

/// <summary>The seed's performance summary of a server over 24h, 7d or 30d; figures are null where nothing was measured.</summary>
public sealed record ServerSummaryResponse(
    string Window, DateTimeOffset Start, DateTimeOffset End, long Requests, long Errors, double? ErrorRate, double? AverageMs, double? P95Ms, double? P99Ms,
    double? Availability, long Probes, long ProbeFailures, long MeasuredSeconds, double Coverage, HistoryPoint[] Hours, ToolSummaryResponse[] Tools)
{
    public static readonly Dictionary<string, TimeSpan> Windows = new()
    {
        ["24h"] = TimeSpan.FromHours(24),
        ["7d"] = TimeSpan.FromDays(7),
        ["30d"] = TimeSpan.FromDays(30),
    };

    public static ServerSummaryResponse From(string window, ServerHistorySummary s)
    {
        var t = s.Totals;
        return new(window, s.From, s.To, t.Requests, t.Errors, t.Requests > 0 ? (double)t.Errors / t.Requests : null,
            t.Requests > 0 ? t.SumSeconds * 1000 / t.Requests : null, t.Quantile(0.95) * 1000, t.Quantile(0.99) * 1000,
            t.Probes > 0 ? (double)(t.Probes - t.ProbeFailures) / t.Probes : null, t.Probes, t.ProbeFailures, t.MeasuredSeconds,
            Math.Min(1, t.MeasuredSeconds / (s.To - s.From).TotalSeconds), s.Hours, [.. s.Tools.Select(ToolSummaryResponse.From)]);
    }
}

/// <summary>A tool's last hour: calls, errors and p95.</summary>
public sealed record ToolSummaryResponse(string Tool, long Requests, long Errors, double? P95Ms)
{
    public static ToolSummaryResponse From(ToolMinuteTotals t) => new(t.Tool, t.Totals.Requests, t.Totals.Errors, t.Totals.Quantile(0.95) * 1000);
}
