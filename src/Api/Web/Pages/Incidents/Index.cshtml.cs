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

    /// <summary>Text in an incident's id or group labels, or in an alert's id (rule and server).</summary>
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }

    /// <summary>Open alerts of rules that page their own channels, worst first: the first page of them.</summary>
    public AlertEntry[] Direct { get; private set; } = [];

    /// <summary>How many such alerts page in all.</summary>
    public int DirectTotal { get; private set; }

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
        if (Q is { Length: > 200 })
        {
            Failure = "The text to look for is at most 200 characters.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var text = string.IsNullOrWhiteSpace(Q) ? null : Q.Trim();
        var all = await Grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync();
        Counts = all.GroupBy(i => i.Status).ToDictionary(g => g.Key, g => g.Count());
        var selected = all.Where(i => wanted is null || i.Status == wanted)
            .Where(i => text is null || i.Id.Contains(text, StringComparison.OrdinalIgnoreCase) || i.GroupLabels.Values.Any(v => v.Contains(text, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(i => i.Status == IncidentStatus.Resolved).ThenByDescending(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal).ToArray();
        Total = selected.Length;
        Items = [.. selected.Skip(Math.Max(0, Offset)).Take(PageSize)];
        if (wanted is null or IncidentStatus.Open or IncidentStatus.Acknowledged) (Direct, DirectTotal) = await DirectAsync(wanted, text);
        return Page();
    }

    private async Task<(AlertEntry[], int)> DirectAsync(IncidentStatus? wanted, string? text)
    {
        var direct = (await Grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync()).Rules.Where(r => !r.Routed).Select(r => r.Id).ToArray();
        if (direct.Length == 0) return ([], 0);
        var statuses = wanted switch
        {
            IncidentStatus.Acknowledged => "acknowledged",
            IncidentStatus.Open => "firing|escalated",
            _ => "firing|escalated|acknowledged",
        };
        return await listings.QueryAsync<AlertEntry>(new ListingQuery(PageSize, 0)
        {
            Matchers =
            [
                new Monitoring.Silences.Matcher("ruleId", Monitoring.Silences.MatchOperator.Regex, string.Join("|", direct.Select(System.Text.RegularExpressions.Regex.Escape))),
                new Monitoring.Silences.Matcher("status", Monitoring.Silences.MatchOperator.Regex, statuses),
            ],
            Text = text,
            WorstFirst = AlertEntry.WorstFirst,
        });
    }
}
