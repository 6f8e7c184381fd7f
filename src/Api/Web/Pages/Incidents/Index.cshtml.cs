using Microsoft.AspNetCore.Mvc;
using Monitoring.Routing;

namespace Monitoring.Api.Web.Pages.Incidents;

/// <summary>Incidents, open and acknowledged first, then the most recently resolved.</summary>
public sealed class IndexModel : ConsolePage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public int Offset { get; set; }

    public IncidentSummary[] Items { get; private set; } = [];
    public int Total { get; private set; }
    public Dictionary<IncidentStatus, int> Counts { get; private set; } = [];

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
        return Page();
    }
}
