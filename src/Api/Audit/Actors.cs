using System.Security.Claims;

namespace Monitoring.Api.Audit;

/// <summary>Who acts, as timelines and the audit log say it.</summary>
public static class Actors
{
    /// <summary>The claim naming the person (a user id) a key belongs to.</summary>
    public const string UserClaim = "mcp:user";

    public static string NameOf(ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    /// <summary>"ana (key ana-laptop)" for a person's key, else the key's name.</summary>
    public static string Of(ClaimsPrincipal user) => user.FindFirstValue(UserClaim) is { } person ? $"{person} (key {NameOf(user)})" : NameOf(user);
}
