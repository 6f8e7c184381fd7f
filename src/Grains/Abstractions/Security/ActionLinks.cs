using System.Globalization;

namespace Monitoring.Security;

/// <summary>
/// Action links in notifications: "acknowledge" and "resolve" for one incident or alert, signed and sealed with the
/// cluster's key ring (ASP.NET Core Data Protection, purpose <see cref="Purpose"/>), expiring, and single-use. The
/// payload is "v1|target|action|expires-unix-seconds|nonce[|user]"; the nonce names the message the link came in, and
/// the user, when the message was a person's page, the person it was sent to (who then acts by using it).
/// </summary>
public static class ActionLink
{
    public const string Purpose = "Monitoring.ActionLinks.v1";
    public const string Path = "/actions/";
    public const string Acknowledge = "acknowledge";
    public const string Resolve = "resolve";

    public static string Payload(string target, string action, DateTimeOffset expires, string nonce, string? user = null) =>
        string.Join('|', new[] { "v1", target, action, expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), nonce }.Concat(user is null ? [] : [user]));

    public static bool TryParse(string payload, out string target, out string action, out DateTimeOffset expires, out string nonce, out string? user)
    {
        target = action = nonce = "";
        user = null;
        expires = default;
        var parts = payload.Split('|');
        if (parts.Length is not (5 or 6) || parts[0] != "v1" || parts[2] is not (Acknowledge or Resolve)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799)
        {
            return false;
        }
        (target, action, expires, nonce) = (parts[1], parts[2], DateTimeOffset.FromUnixTimeSeconds(seconds), parts[4]);
        if (parts.Length == 6)
        {
            if (parts[5].Length == 0) return false;
            user = parts[5];
        }
        return target.Length > 0 && nonce.Length > 0;
    }
}

/// <summary>When and by whom an action link was used.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ActionLinkUse")]
public sealed record ActionLinkUse([property: Id(0), JsonPropertyName("At")] DateTimeOffset At, [property: Id(1), JsonPropertyName("By")] string By);

/// <summary>One action link's use, keyed "nonce:action": the first use wins, every later one is refused.</summary>
[Alias("mcp.IActionLinkGrain")]
public interface IActionLinkGrain : IGrainWithStringKey
{
    /// <summary>Marks the link used; null when this call used it, else the earlier use.</summary>
    Task<ActionLinkUse?> UseAsync(string by);

    /// <summary>Whether and when it was used.</summary>
    Task<ActionLinkUse?> GetAsync();
}
