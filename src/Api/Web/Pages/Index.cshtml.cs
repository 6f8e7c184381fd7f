using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Alerts;
using Monitoring.Listings;

namespace Monitoring.Api.Web.Pages;

/// <summary>
/// The fleet: every server with its verdict, main metrics and open alerts, worst first unless sorted otherwise;
/// filtered, sorted and paged by the listing store. Silenced alerts are counted apart from those that page.
/// </summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? Health { get; set; }
    [BindProperty(SupportsGet = true)] public string? Label { get; set; }
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    [BindProperty(SupportsGet = true)] public string? Sort { get; set; }
    [BindProperty(SupportsGet = true)] public string? Order { get; set; }
    [BindProperty(SupportsGet = true)] public int Offset { get; set; }

    public ServerEntry[] Servers { get; private set; } = [];

    /// <summary>Open alerts of the listed servers by server: those that page, and those silenced or suppressed.</summary>
    public Dictionary<string, (int Paging, int Muted)> Alerts { get; private set; } = [];
    public int Total { get; private set; }
    public Dictionary<string, int> Counts { get; private set; } = [];
    public string[] Errors { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var errors = new RequestErrors();
        var labels = string.IsNullOrWhiteSpace(Label) ? null : Label.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (Offset < 0) Offset = 0;
        var query = ServerQuery.From(string.IsNullOrEmpty(Health) ? null : Health, labels, Q, string.IsNullOrEmpty(Sort) ? "health" : Sort,
            string.IsNullOrEmpty(Order) ? null : Order, PageSize, Offset, errors);
        Counts = await listings.CountByAsync<ServerEntry>("health");
        if (query is null)
        {
            Errors = [.. errors.ToArray().Select(e => $"{e.Field}: {e.Message}")];
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        (Servers, Total) = await listings.QueryAsync<ServerEntry>(query);
        Alerts = await OpenAlertsAsync();
        return Page();
    }

    private async Task<Dictionary<string, (int, int)>> OpenAlertsAsync()
    {
        var listed = Servers.Where(s => s.OpenAlerts > 0).Select(s => s.Id).ToArray();
        if (listed.Length == 0) return [];
        var (alerts, _) = await listings.QueryAsync<AlertEntry>(new ListingQuery(10_000, 0)
        {
            Matchers =
            [
                new Monitoring.Silences.Matcher("serverId", Monitoring.Silences.MatchOperator.Regex, string.Join("|", listed.Select(System.Text.RegularExpressions.Regex.Escape))),
                new Monitoring.Silences.Matcher("status", Monitoring.Silences.MatchOperator.Regex, "pending|firing|escalated|acknowledged|silenced|suppressed"),
            ],
        });
        return alerts.GroupBy(a => a.ServerId).ToDictionary(
            g => g.Key,
            g => (g.Count(a => a.Status is not (AlertStatus.Silenced or AlertStatus.Suppressed)), g.Count(a => a.Status is AlertStatus.Silenced or AlertStatus.Suppressed)));
    }

    /// <summary>This page's URL with one query value changed (and the page reset unless it is the offset).</summary>
    public string With(string name, string? value)
    {
        var values = new Dictionary<string, string?>
        {
            ["health"] = Health, ["label"] = Label, ["q"] = Q, ["sort"] = Sort, ["order"] = Order, ["offset"] = null,
        };
        values[name] = value;
        if (name != "offset") values["offset"] = null;
        var query = string.Join("&", values.Where(v => !string.IsNullOrEmpty(v.Value)).Select(v => $"{v.Key}={Uri.EscapeDataString(v.Value!)}"));
        return query.Length == 0 ? "/" : "/?" + query;
    }

    public string SortLink(string column) => With("sort", column) + ((Sort ?? "health") == column && Order != "desc" ? "&order=desc" : "");
}
