using Microsoft.AspNetCore.Mvc;
using Monitoring.Heartbeats;
using Monitoring.Listings;

namespace Monitoring.Api.Web.Pages.Heartbeats;

/// <summary>Every heartbeat check: its status, its last ping, when the next is expected; the down ones first.</summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public HeartbeatView[] Items { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var ids = (await listings.QueryAsync<HeartbeatEntry>([], 10_000, 0)).Items.Select(e => e.Id).ToArray();
        // Read from each check now: time alone moves a check from up to late, and the listing hears of it only when it wakes.
        var views = await Task.WhenAll(ids.Select(id => Grains.GetGrain<IHeartbeatGrain>(id).GetAsync()));
        Items = [.. views.OfType<HeartbeatView>().OrderBy(v => v.Status switch { HeartbeatStatus.Down => 0, HeartbeatStatus.Late => 1, _ => 2 }).ThenBy(v => v.Check.Id, StringComparer.Ordinal)];
        return Page();
    }
}
