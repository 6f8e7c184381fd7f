using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Monitoring.Security;

namespace Monitoring.Api.Security;

/// <summary>Which paths are the web console's: everything that is not the API, OTLP ingest, metrics, health, the dashboard, Slack's callback, calendar feeds or ping URLs.</summary>
public static class ConsolePaths
{
    private static readonly string[] NotConsole =
        ["/api", "/v1", "/metrics", "/health", "/-", "/openapi", "/dashboard", "/slack", Mcp.McpEndpoint.Path, Endpoints.CalendarFeedEndpoints.Path, Endpoints.HeartbeatEndpoints.PingPath];

    /// <summary>Console pages anyone may open: signing in, and an action link (the signed link is its own authority).</summary>
    private static readonly string[] OpenPages = ["/signin", "/actions"];

    public static bool IsConsole(PathString path) => !NotConsole.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    public static bool IsOpen(PathString path) => OpenPages.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// The console's session: signing in with an API key sets an HttpOnly, SameSite=Strict cookie holding the key's
/// hash (protected by the cluster's key ring, never the key). Every request looks the hash up again, so a revoked key
/// ends its sessions within a second; the role is the key's role now. The open embedded mode needs no session.
/// </summary>
public static class ConsoleSession
{
    public const string Scheme = "console";
    public const string CookieName = "mcp_session";
    public const string KeyHashClaim = "mcp:key_hash";
    public const string UserClaim = Audit.Actors.UserClaim;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    public static IServiceCollection AddConsoleSession(this IServiceCollection services)
    {
        services.AddAuthentication(Scheme).AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = Lifetime;
            o.SlidingExpiration = true;
            o.LoginPath = "/signin";
            o.LogoutPath = "/signout";
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<TimeProvider>((o, time) => o.TimeProvider = time);
        return services;
    }

    /// <summary>Who acts: the key's name and role, the person it belongs to (if any), and, in a console session, the key's hash.</summary>
    public static ClaimsPrincipal Principal(KeyIdentity identity, string? keyHash, string? scheme = null)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, identity.Name), new(ClaimTypes.Role, identity.Role.ToString().ToLowerInvariant()) };
        if (keyHash is not null) claims.Add(new Claim(KeyHashClaim, keyHash));
        if (identity.User is not null) claims.Add(new Claim(UserClaim, identity.User));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme ?? (keyHash is null ? "Open" : Scheme)));
    }

    public static Task SignInAsync(HttpContext context, KeyIdentity identity, string keyHash) =>
        context.SignInAsync(Scheme, Principal(identity, keyHash), new AuthenticationProperties { IsPersistent = false });

    public static Task SignOutAsync(HttpContext context) => context.SignOutAsync(Scheme);

    /// <summary>Sets the console's user from the session (or, open, as an admin), or sends the visitor to sign in.</summary>
    public static async Task AuthenticateAsync(HttpContext context, RequestDelegate next, ApiKeyResolver keys, AuthMode mode)
    {
        if (!mode.Required)
        {
            context.User = Principal(new KeyIdentity("console", Role.Admin, null), null);
            await next(context);
            return;
        }
        context.User = new ClaimsPrincipal(new ClaimsIdentity());
        var session = await context.AuthenticateAsync(Scheme);
        if (session.Succeeded && session.Principal.FindFirstValue(KeyHashClaim) is { } hash)
        {
            if (await keys.ResolveHashAsync(hash) is { } identity) context.User = Principal(identity, hash);
            else await SignOutAsync(context); // the key was revoked: so is the session
        }
        if (context.User.Identity?.IsAuthenticated != true && !ConsolePaths.IsOpen(context.Request.Path))
        {
            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.Redirect("/signin?returnUrl=" + Uri.EscapeDataString(context.Request.Path + context.Request.QueryString));
                return;
            }
            await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required",
                detail: "Sign in to the console with an API key first.").ExecuteAsync(context);
            return;
        }
        await next(context);
    }
}

/// <summary>Who is looking at the console and what they may do.</summary>
public static class ConsoleUser
{
    public static Role RoleOf(this ClaimsPrincipal user) =>
        Enum.TryParse<Role>(user.FindFirstValue(ClaimTypes.Role), ignoreCase: true, out var role) ? role : Role.Sender;

    public static bool Can(this ClaimsPrincipal user, Role role) => user.Identity?.IsAuthenticated == true && user.RoleOf() >= role;

    public static string NameOf(this ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    /// <summary>The person (a user id) the key belongs to, or null.</summary>
    public static string? PersonOf(this ClaimsPrincipal user) => user.FindFirstValue(ConsoleSession.UserClaim);

    /// <summary>Who acts, as timelines and the audit log say it: "ana (key ana-laptop)" for a person's key, else the key's name.</summary>
    public static string ActorOf(this ClaimsPrincipal user) => Audit.Actors.Of(user);

    public static bool IsSession(this ClaimsPrincipal user) => user.FindFirstValue(ConsoleSession.KeyHashClaim) is not null;
}
