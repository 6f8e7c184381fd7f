using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Monitoring.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Monitoring.Api.Web;

/// <summary>The web console: Razor Pages rendered on the server under <c>/</c>, usable without JavaScript.</summary>
public static class ConsoleHosting
{
    public static IServiceCollection AddMonitoringConsole(this IServiceCollection services)
    {
        services.AddRazorPages(o => o.RootDirectory = "/Web/Pages");
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "mcp_csrf";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__csrf";
        });
        services.AddConsoleSession();
        // The signing keys' copy: the embedded silo's own when it runs in this process, else this process's.
        services.TryAddSingleton(sp => ActionLinkKeyRing.Of(sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IDataProtectionProvider>().CreateProtector(ActionLinkKeys.SealPurpose).Unprotect, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ActionLinks>();
        services.AddSingleton<Acting>();
        services.AddSingleton<SilencePreview>();
        return services;
    }

    public static WebApplication MapMonitoringConsole(this WebApplication app)
    {
        app.MapRazorPages();
        app.MapSlackInteractions();
        return app;
    }
}

/// <summary>What every console page has: the cluster, the clock, who is looking, and a one-line outcome of the last action.</summary>
public abstract class ConsolePage : PageModel
{
    protected IGrainFactory Grains => HttpContext.RequestServices.GetRequiredService<IGrainFactory>();

    protected TimeProvider Time => HttpContext.RequestServices.GetRequiredService<TimeProvider>();

    public DateTimeOffset Now => Time.GetUtcNow();

    public bool CanOperate => User.Can(Role.Operator);

    public bool IsAdmin => User.Can(Role.Admin);

    /// <summary>What the last action did, shown once after its redirect.</summary>
    [TempData] public string? Notice { get; set; }

    /// <summary>Why the last action was refused, shown once after its redirect.</summary>
    [TempData] public string? Failure { get; set; }

    /// <summary>A 403 page when the viewer's role is below <paramref name="role"/>; null when allowed.</summary>
    protected IActionResult? Demand(Role role) => User.Can(role)
        ? null
        : new ObjectResult(new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Forbidden",
            Detail = $"'{User.NameOf()}' has the role {User.RoleOf().ToString().ToLowerInvariant()}; this needs {role.ToString().ToLowerInvariant()}.",
        }) { StatusCode = StatusCodes.Status403Forbidden, ContentTypes = { "application/problem+json" } };

    protected Task AuditAsync(string action, string kind, string id, object? before, object? after) =>
        HttpContext.RequestServices.GetRequiredService<IAuditLog>().AppendAsync(Now, User.ActorOf(), action, kind, id, before, after);

    /// <summary>A relative local URL to go back to, or the fallback: never another site.</summary>
    protected string LocalOr(string? url, string fallback) => url is { Length: > 0 } && Url.IsLocalUrl(url) ? url : fallback;
}
