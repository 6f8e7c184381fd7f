using Microsoft.AspNetCore.Mvc;
using Monitoring.Listings;
using Monitoring.Slo;

namespace Monitoring.Api.Web.Pages.Slos;

/// <summary>Every objective, the least budget remaining first; and one objective's rows (<c>?id=</c>), the same order.</summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public SloEntry[] Items { get; private set; } = [];

    public SloView? Selected { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? id)
    {
        (Items, _) = await listings.QueryAsync<SloEntry>(new ListingQuery(1_000, 0) { SortBy = "budget" });
        if (id is not null && (Selected = await Grains.GetGrain<ISloGrain>(id).GetAsync()) is null) return NotFound();
        return Page();
    }

    public static string Percent(double? value) => value is { } v ? $"{v * 100:0.##}%" : "—";

    public static string Burn(double? value) => value is { } v ? $"{v:0.##}×" : "n/a";
}
