using Monitoring.Api.Security;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Security;
using Monitoring.Silences;

namespace Monitoring.Api.Web.Pages.Silences;

/// <summary>Silences by state (active, pending, expired), with expire.</summary>
public sealed class IndexModel : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? State { get; set; }

    public Silence[] Items { get; private set; } = [];
    public Dictionary<SilenceState, int> Counts { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        SilenceState? wanted = null;
        if (!string.IsNullOrEmpty(State))
        {
            if (Enum.TryParse<SilenceState>(State, true, out var s) && Enum.IsDefined(s) && !int.TryParse(State, out _)) wanted = s;
            else
            {
                Failure = $"'{State}' is not a silence state; expected active, pending or expired.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
            }
        }
        var now = Now;
        var all = (await Grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(-1))?.Silences ?? [];
        Counts = all.GroupBy(s => s.StateAt(now)).ToDictionary(g => g.Key, g => g.Count());
        Items = [.. all.Where(s => wanted is null || s.StateAt(now) == wanted).OrderBy(s => s.StateAt(now)).ThenByDescending(s => s.EndsAt)];
        return Page();
    }

    public async Task<IActionResult> OnPostExpireAsync(string id)
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        var catalog = Grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key);
        var before = (await catalog.GetIfChangedAsync(-1))?.Silences.FirstOrDefault(s => s.Id == id);
        var result = before is null ? Common.WriteResult.NotFound : await catalog.ExpireAsync(id);
        if (result.Succeeded)
        {
            await AuditAsync("expire silence", "silence", id, before, null);
            Notice = $"Expired the silence {string.Join(", ", before!.Matchers.Select(m => m.ToString()))}.";
        }
        else Failure = before is null ? "No such silence." : string.Join("; ", result.Errors.Select(e => e.Message));
        return Redirect("/silences");
    }
}
