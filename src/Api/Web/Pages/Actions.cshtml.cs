using Microsoft.AspNetCore.Mvc;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages;

/// <summary>
/// Where an email or webhook action link lands. GET only shows what the link would do (mail scanners follow links,
/// so opening one changes nothing); the confirm button POSTs, and the link is then used. A tampered, expired or used
/// link, or one whose incident has resolved, is refused with a page that says which.
/// </summary>
public sealed class ActionsModel(ActionLinks links, Acting acting) : ConsolePage
{
    public ActionLinkToken? Link { get; private set; }
    public string Title { get; private set; } = "";
    public string? Refusal { get; private set; }
    public string? Done { get; private set; }

    public async Task<IActionResult> OnGetAsync(string token)
    {
        await CheckAsync(token);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string token, string? name)
    {
        if (!await CheckAsync(token)) return Page();
        // A link from a person's page acts as that person (the link was sealed for them); any other link as whoever says.
        var who = Link!.Recipient ?? (string.IsNullOrWhiteSpace(name) ? "someone with the link" : name.Trim().Length > 100 || name.Any(char.IsControl) ? null : name.Trim());
        if (who is null)
        {
            Refusal = "Your name is at most 100 characters on one line.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var by = $"{who} (action link)";
        if (await Grains.GetGrain<IActionLinkGrain>(Link.LedgerKey).UseAsync(by) is { } earlier)
        {
            Refusal = $"This link was already used, {Show.Ago(earlier.At, Now)}, by {earlier.By}.";
            Response.StatusCode = StatusCodes.Status410Gone;
            return Page();
        }
        var outcome = await acting.ActAsync(Link.Target, Link.Action, by);
        if (!outcome.Succeeded)
        {
            Refusal = outcome.Message;
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }
        Done = outcome.Message;
        return Page();
    }

    private async Task<bool> CheckAsync(string token)
    {
        var (verdict, link) = await links.ReadAsync(token);
        Link = link;
        switch (verdict)
        {
            case ActionLinks.Verdict.Invalid:
                Refusal = "This link is not valid: it was changed, cut short, or made for another installation.";
                Response.StatusCode = StatusCodes.Status400BadRequest;
                return false;
            case ActionLinks.Verdict.Expired:
                Refusal = $"This link expired {Show.Ago(link!.Expires, Now)}. Open the console to act.";
                Response.StatusCode = StatusCodes.Status410Gone;
                return false;
        }
        var (exists, open, title) = await acting.LookAsync(link!.Target);
        Title = title;
        if (!exists || !open)
        {
            Refusal = exists ? $"{title} has resolved: there is nothing left to {Verb(link.Action)}." : "What this link was for no longer exists.";
            Response.StatusCode = StatusCodes.Status410Gone;
            return false;
        }
        if (await Grains.GetGrain<IActionLinkGrain>(link.LedgerKey).GetAsync() is { } used)
        {
            Refusal = $"This link was already used, {Show.Ago(used.At, Now)}, by {used.By}.";
            Response.StatusCode = StatusCodes.Status410Gone;
            return false;
        }
        return true;
    }

    public static string Verb(TargetAction action) => action == TargetAction.Acknowledge ? "acknowledge" : "resolve";
}
