using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Monitoring.Security;

/// <summary>
/// Action links in notifications: "acknowledge" and "resolve" for one incident or alert, signed, expiring, and
/// single-use. The payload is "v1|target|action|expires-unix-seconds|nonce[|user]"; the nonce names the message the
/// link came in, and the user, when the message was a person's page, the person it was sent to (who then acts by using
/// it).
/// <para>
/// The token is <c>2.{key id}.{payload}.{signature}</c>: the payload and the HMAC-SHA256 of everything before the last
/// dot, in base64url, under one of the cluster's signing keys (<see cref="ActionLinkKeys"/>). It is signed, not sealed:
/// the payload (what the link does, to what, until when, for whom) is readable by whoever holds the link, as the message
/// around it is. One message's links are the same bytes on every silo and every retry, and making one costs a hash.
/// Links made before (until 2026-12) were the payload sealed by the key ring with purpose <see cref="Purpose"/>; they
/// have no dot, and open that way until they expire.
/// </para>
/// </summary>
public static class ActionLink
{
    public const string Purpose = "Monitoring.ActionLinks.v1";
    public const string Path = "/actions/";
    public const string Acknowledge = "acknowledge";
    public const string Resolve = "resolve";
    private const string TokenVersion = "2";
    private const int SignatureBytes = 32;

    public static string Payload(string target, string action, DateTimeOffset expires, string nonce, string? user = null) =>
        string.Join('|', new[] { "v1", target, action, expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), nonce }.Concat(user is null ? [] : [user]));

    /// <summary>A signed token for the payload under one of the cluster's keys.</summary>
    public static string Sign(string keyId, byte[] secret, string payload)
    {
        var signed = $"{TokenVersion}.{keyId}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}";
        return signed + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(signed)));
    }

    /// <summary>Whether the token is a signed one (a link sealed the earlier way has no dot).</summary>
    public static bool IsSigned(string token) => token.StartsWith(TokenVersion + ".", StringComparison.Ordinal);

    /// <summary>The key id a signed token names, or null when it is not a well-formed signed token.</summary>
    public static string? KeyIdOf(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0] != TokenVersion || parts[1].Length is 0 or > 32 || !parts[1].All(char.IsAsciiHexDigitLower)) return null;
        return parts[1];
    }

    /// <summary>The payload, when the signature is the key's (compared in constant time); null for any other token.</summary>
    public static string? Verify(string token, byte[] secret)
    {
        var last = token.LastIndexOf('.');
        if (KeyIdOf(token) is null || last < 0) return null;
        var signature = new byte[SignatureBytes];
        // Only the one spelling of the signature: base64url's last character carries spare bits a decoder ignores.
        if (!Base64Url.IsValid(token.AsSpan(last + 1), out var length) || length != SignatureBytes
            || Base64Url.DecodeFromChars(token.AsSpan(last + 1), signature) != SignatureBytes
            || !token.AsSpan(last + 1).SequenceEqual(Base64Url.EncodeToString(signature)))
        {
            return null;
        }
        var expected = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(token[..last]));
        if (!CryptographicOperations.FixedTimeEquals(expected, signature)) return null;
        var payload = token[(token.IndexOf('.', 2) + 1)..last];
        if (!Base64Url.IsValid(payload)) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(payload));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

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
