using Monitoring.Api.Security;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Routing;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages.Incidents;

/// <summary>One incident: its alerts, timeline and notifications, with acknowledge, resolve and "silence for…".</summary>
public sealed class DetailModel(Acting acting) : ConsolePage
{
    /// <summary>Alerts listed on the page, firing first: a fleet-wide incident has thousands.</summary>
    public const int MaxListed = 500;

    public IncidentView Incident { get; private set; } = null!;

    public async Task<IActionResult> OnGetAsync(string id)
    {
        if (!RouteTree.IsIncidentId(id) || await Grains.GetGrain<IIncidentGrain>(id).GetAsync() is not { } incident) return NotFound();
        Incident = incident;
        return Page();
    }

    public Task<IActionResult> OnPostAcknowledgeAsync(string id) => ActAsync(id, TargetAction.Acknowledge, null);

    public Task<IActionResult> OnPostResolveAsync(string id) => ActAsync(id, TargetAction.Resolve, null);

    public Task<IActionResult> OnPostSilenceAsync(string id, int hours) => ActAsync(id, TargetAction.Silence, hours);

    private async Task<IActionResult> ActAsync(string id, TargetAction action, int? hours)
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        if (!RouteTree.IsIncidentId(id)) return NotFound();
        TimeSpan? length = null;
        if (action == TargetAction.Silence)
        {
            length = Acting.SilenceChoices.FirstOrDefault(c => c == TimeSpan.FromHours(hours ?? 0));
            if (length == TimeSpan.Zero)
            {
                Failure = $"Silence for {string.Join(", ", Acting.SilenceChoices.Select(Show.Span))}; {hours}h is not offered.";
                return Redirect($"/incidents/{id}");
            }
        }
        var outcome = await acting.ActAsync(id, action, User.ActorOf(), length);
        if (outcome.Succeeded) Notice = outcome.Message;
        else Failure = outcome.Message;
        return Redirect($"/incidents/{id}");
    }
}
