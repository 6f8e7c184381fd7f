using Microsoft.AspNetCore.Mvc;
using Monitoring.Listings;
using Monitoring.OnCall;

namespace Monitoring.Api.Web.Pages.OnCall;

/// <summary>Every schedule: who is on call now, until when, and who is next.</summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public OnCallAnswer[] Items { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        Items = await Endpoints.OnCallEndpoints.EveryoneAsync(listings, Grains, Now);
        return Page();
    }
}
