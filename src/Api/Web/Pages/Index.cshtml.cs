using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Listings;

namespace Monitoring.Api.Web.Pages;

/// <summary>The fleet: every server with its verdict, main metrics and open alerts; filtered, sorted and paged by the listing store.</summary>
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
    public int Total { get; private set; }
    public Dictionary<string, int> Counts { get; private set; } = [];
    public string[] Errors { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var errors = new RequestErrors();
        var labels = string.IsNullOrWhiteSpace(Label) ? null : Label.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (Offset < 0) Offset = 0;
        var query = ServerQuery.From(string.IsNullOrEmpty(Health) ? null : Health, labels, Q, string.IsNullOrEmpty(Sort) ? null : Sort,
            string.IsNullOrEmpty(Order) ? null : Order, PageSize, Offset, errors);
        Counts = await listings.CountByAsync<ServerEntry>("health");
        if (query is null)
        {
            Errors = [.. errors.ToArray().Select(e => $"{e.Field}: {e.Message}")];
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        (Servers, Total) = await listings.QueryAsync<ServerEntry>(query);
        return Page();
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

    public string SortLink(string column) => With("sort", column) + (Sort == column && Order != "desc" ? "&order=desc" : "");
}
