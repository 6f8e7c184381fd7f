using Microsoft.AspNetCore.Mvc;
using Monitoring.Alerts;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Rules;

namespace Monitoring.Api.Web.Pages.Incidents;

/// <summary>
/// What pages: incidents, open and acknowledged first, then the most recently resolved; and the open alerts of rules
/// that name their own channels or policy, which page without an incident.
/// </summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public int Offset { get; set; }

    public IncidentSummary[] Items { get; private set; } = [];
    public int Total { get; private set; }
    public Dictionary<IncidentStatus, int> Counts { get; private set; } = [];

    /// <summary>Open alerts of rules that page their own channels, worst first.</summary>
    public AlertEntry[] Direct { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        IncidentStatus? wanted = null;
        if (!string.IsNullOrEmpty(Status))
        {
            if (Enum.TryParse<IncidentStatus>(Status, true, out var s) && Enum.IsDefined(s) && !int.TryParse(Status, out _)) wanted = s;
            else
            {
                Failure = $"'{Status}' is not an incident status; expected open, acknowledged or resolved.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
            }
        }
        var all = await Grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync();
        Counts = all.GroupBy(i => i.Status).ToDictionary(g => g.Key, g => g.Count());
        var selected = all.Where(i => wanted is null || i.Status == wanted)
            .OrderBy(i => i.Status == IncidentStatus.Resolved).ThenByDescending(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToArray();
        Total = selected.Length;
        Items = [.. selected.Skip(Math.Max(0, Offset)).Take(PageSize)];
        if (wanted is null or IncidentStatus.Open or IncidentStatus.Acknowledged) Direct = await DirectAsync(wanted);
        return Page();
    }

    private async Task<AlertEntry[]> DirectAsync(IncidentStatus? wanted)
    {
        var direct = (await Grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync()).Rules.Where(r => !r.Routed).Select(r => r.Id).ToArray();
        if (direct.Length == 0) return [];
        var (alerts, _) = await listings.QueryAsync<AlertEntry>(new ListingQuery(PageSize * 4, 0)
        {
            Matchers = [new Monitoring.Silences.Matcher("ruleId", Monitoring.Silences.MatchOperator.Regex, string.Join("|", direct.Select(System.Text.RegularExpressions.Regex.Escape)))],
            WorstFirst = AlertEntry.WorstFirst,
        });
        AlertStatus[] shown = wanted switch
        {
            IncidentStatus.Acknowledged => [AlertStatus.Acknowledged],
            IncidentStatus.Open => [AlertStatus.Firing, AlertStatus.Escalated],
            _ => [AlertStatus.Firing, AlertStatus.Escalated, AlertStatus.Acknowledged],
        };
        return [.. alerts.Where(a => shown.Contains(a.Status)).Take(PageSize)];
    }
}
