using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Security;

namespace Monitoring.Api.Web.Pages;

public sealed class SignOutModel : ConsolePage
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        await ConsoleSession.SignOutAsync(HttpContext);
        return Redirect("/signin");
    }
}
