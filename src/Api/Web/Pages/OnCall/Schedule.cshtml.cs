using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Security;
using Monitoring.Common;
using Monitoring.OnCall;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages.OnCall;

/// <summary>One schedule: its shifts for the next two weeks as a timeline, gaps and overrides marked, and "create override".</summary>
public sealed class ScheduleModel : ConsolePage
{
    public static readonly TimeSpan Span = TimeSpan.FromDays(14);

    public Schedule Schedule { get; private set; } = null!;
    public Shift[] Shifts { get; private set; } = [];
    public DateTimeOffset From { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id)
    {
        if (!Ids.IsValid(id)) return NotFound();
        var grain = Grains.GetGrain<IScheduleGrain>(id);
        if (await grain.GetAsync() is not { } schedule) return NotFound();
        Schedule = schedule;
        From = Now;
        Shifts = await grain.ShiftsAsync(From, From + Span) ?? [];
        return Page();
    }

    /// <summary>An operator's override: someone takes a span, in place of someone or beside whoever is on call.</summary>
    public async Task<IActionResult> OnPostOverrideAsync(string id, string? user, DateTime? start, DateTime? end, string? replaces)
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        if (!Ids.IsValid(id)) return NotFound();
        if (!Ids.IsValid(user) || start is null || end is null || replaces is { Length: > 0 } && !Ids.IsValid(replaces))
        {
            Failure = "An override needs a user, a start and an end (in UTC).";
            return Redirect($"/oncall/{id}");
        }
        var added = new ScheduleOverride(Guid.NewGuid().ToString("N")[..12], user!, new DateTimeOffset(DateTime.SpecifyKind(start.Value, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(end.Value, DateTimeKind.Utc)), string.IsNullOrEmpty(replaces) ? null : replaces);
        var grain = Grains.GetGrain<IScheduleGrain>(id);
        var before = await grain.GetAsync();
        var result = await grain.AddOverrideAsync(added);
        if (result.Succeeded)
        {
            await AuditAsync("override", "schedule", id, before, await grain.GetAsync());
            Notice = $"{user} takes {added.Start:yyyy-MM-dd HH:mm} to {added.End:yyyy-MM-dd HH:mm} UTC{(added.Replaces is { } r ? $" from {r}" : "")}.";
        }
        else
        {
            Failure = string.Join(" ", result.Errors.Select(e => $"{e.Field}: {e.Message}"));
        }
        return Redirect($"/oncall/{id}");
    }
}
