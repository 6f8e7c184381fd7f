using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Monitoring.Security;

namespace Monitoring.Api.Web;

/// <summary>An action link as read: what it does to which incident or alert, until when, and the message it came in.</summary>
/// <param name="Recipient">The person the link was sent to (a user id), when it came in their page: they act by using it.</param>
public sealed record ActionLinkToken(string Target, TargetAction Action, DateTimeOffset Expires, string Nonce, string? Recipient)
{
    public string LedgerKey => $"{Nonce}:{Action.ToString().ToLowerInvariant()}";
}

/// <summary>
/// Opens the action links that notifications carry (<see cref="ActionLink"/>): a token whose signature is not one of
/// the cluster's keys (or, for a link made before links were signed, that does not open with the key ring) was
/// tampered with or made elsewhere; one past its expiry is refused.
/// </summary>
public sealed class ActionLinks(ActionLinkKeyRing keys, IDataProtectionProvider provider, TimeProvider time)
{
    private readonly IDataProtector _sealedLinks = provider.CreateProtector(ActionLink.Purpose);

    public enum Verdict { Valid, Invalid, Expired }

    public async Task<(Verdict Verdict, ActionLinkToken? Token)> ReadAsync(string token)
    {
        if (token.Length is 0 or > 2048) return (Verdict.Invalid, null);
        var payload = ActionLink.IsSigned(token) ? await VerifiedAsync(token) : Unsealed(token);
        if (payload is null || !ActionLink.TryParse(payload, out var target, out var action, out var expires, out var nonce, out var user) || !Acting.IsTarget(target))
        {
            return (Verdict.Invalid, null);
        }
        var read = new ActionLinkToken(target, action == ActionLink.Acknowledge ? TargetAction.Acknowledge : TargetAction.Resolve, expires, nonce, user);
        return time.GetUtcNow() >= expires ? (Verdict.Expired, read) : (Verdict.Valid, read);
    }

    private async Task<string?> VerifiedAsync(string token) =>
        ActionLink.KeyIdOf(token) is { } keyId && await keys.FindAsync(keyId) is { } secret ? ActionLink.Verify(token, secret) : null;

    /// <summary>A link made before links were signed: the payload sealed by the key ring.</summary>
    private string? Unsealed(string token)
    {
        try
        {
            return _sealedLinks.Unprotect(token);
        }
        catch (CryptographicException)
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
