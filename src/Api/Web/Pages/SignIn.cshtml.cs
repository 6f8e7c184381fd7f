using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Security;
using Monitoring.Security;

namespace Monitoring.Api.Web.Pages;

public sealed class SignInModel(ApiKeyResolver keys, AuthMode mode) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    public string? Error { get; private set; }

    public IActionResult OnGet() => mode.Required ? Page() : Redirect(LocalOr(ReturnUrl, "/"));

    public async Task<IActionResult> OnPostAsync(string? key)
    {
        if (!mode.Required) return Redirect("/");
        if (string.IsNullOrWhiteSpace(key) || key.Length > 512 || key.StartsWith(KeyMaterial.IngestTokenPrefix, StringComparison.Ordinal)
            || await keys.ResolveAsync(key.Trim()) is not { } identity)
        {
            Error = "That key is not valid (unknown, mistyped or revoked).";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        if (identity.Role < Role.Reader)
        {
            Error = $"The key '{identity.Name}' may only post alerts; the console needs a reader, operator or admin key.";
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Page();
        }
        await ConsoleSession.SignInAsync(HttpContext, identity, KeyMaterial.Hash(key.Trim()));
        return LocalRedirect(LocalOr(ReturnUrl, "/"));
    }
}
