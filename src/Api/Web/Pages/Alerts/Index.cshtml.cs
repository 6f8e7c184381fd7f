using Monitoring.Api.Security;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Alerts;
using Monitoring.Listings;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages.Alerts;

/// <summary>The product's own alerts, what pages first (<see cref="AlertEntry.WorstFirst"/>), by status, with acknowledge, resolve and "silence for…" (a suppression) on each.</summary>
public sealed class IndexModel(IListingStore listings, Acting acting) : ConsolePage
{
    public const int PageSize = 50;
    public static readonly string[] Statuses = ["firing", "escalated", "acknowledged", "pending", "silenced", "suppressed", "resolved"];

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public int Offset { get; set; }

    /// <summary>Only this server's alerts, when given.</summary>
    [BindProperty(SupportsGet = true)] public string? ServerId { get; set; }

    public AlertEntry[] Items { get; private set; } = [];
    public int Total { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var filter = new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(Status))
        {
            if (Statuses.Contains(Status)) filter["status"] = Status;
            else
            {
                Failure = $"'{Status}' is not an alert status; expected one of: {string.Join(", ", Statuses)}.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
                return Page();
            }
        }
        if (!string.IsNullOrEmpty(ServerId))
        {
            if (!Monitoring.Common.Ids.IsValid(ServerId))
            {
                Failure = $"A server id is {Monitoring.Common.Ids.Describe}.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
                return Page();
            }
            filter["serverId"] = ServerId;
        }
        (Items, Total) = await listings.QueryAsync<AlertEntry>(new ListingQuery(PageSize, Math.Max(0, Offset))
        {
            Filter = filter,
            Exclude = new Dictionary<string, string> { ["status"] = "inactive" },
            WorstFirst = AlertEntry.WorstFirst,
        });
        return Page();
    }

    public Task<IActionResult> OnPostAcknowledgeAsync(string id) => ActAsync(id, TargetAction.Acknowledge, null);

    public Task<IActionResult> OnPostResolveAsync(string id) => ActAsync(id, TargetAction.Resolve, null);

    public Task<IActionResult> OnPostSilenceAsync(string id, int hours) => ActAsync(id, TargetAction.Silence, hours);

    private async Task<IActionResult> ActAsync(string id, TargetAction action, int? hours)
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        var back = $"/alerts{(string.IsNullOrEmpty(Status) ? "" : "?status=" + Uri.EscapeDataString(Status))}";
        if (string.IsNullOrEmpty(id) || !AlertIds.TryParse(id, out _, out _))
        {
            Failure = "No such alert.";
            return Redirect(back);
        }
        var length = Acting.SilenceChoices.FirstOrDefault(c => c == TimeSpan.FromHours(hours ?? 0));
        if (action == TargetAction.Silence && length == TimeSpan.Zero)
        {
            Failure = $"Silence for {string.Join(", ", Acting.SilenceChoices.Select(Show.Span))}; {hours}h is not offered.";
            return Redirect(back);
        }
        var outcome = await acting.ActAsync(id, action, User.ActorOf(), length);
        if (outcome.Succeeded) Notice = outcome.Message;
        else Failure = outcome.Message;
        return Redirect(back);
    }
}
