using Monitoring.Api.Security;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Audit;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages;

/// <summary>The audit log, newest first: admins only, as through the API.</summary>
public sealed class AuditModel(IAuditLog audit) : ConsolePage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? Actor { get; set; }
    [BindProperty(SupportsGet = true)] public string? Kind { get; set; }
    [BindProperty(SupportsGet = true)] public int Offset { get; set; }

    public AuditEntry[] Entries { get; private set; } = [];
    public long Total { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (Demand(Role.Admin) is { } refused) return refused;
        Actor = string.IsNullOrWhiteSpace(Actor) ? null : Actor.Trim()[..Math.Min(200, Actor.Trim().Length)];
        Kind = string.IsNullOrWhiteSpace(Kind) ? null : Kind.Trim()[..Math.Min(64, Kind.Trim().Length)];
        (Entries, Total) = await audit.QueryAsync(new AuditQuery(Kind, null, Actor, PageSize, Math.Max(0, Offset)));
        return Page();
    }
}
