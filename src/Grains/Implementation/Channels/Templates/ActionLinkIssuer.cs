using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Monitoring.Security;

namespace Monitoring.Channels.Templates;

/// <summary>The acknowledge and resolve links a firing message carries, or none.</summary>
public sealed record ActionUrls(string Acknowledge, string Resolve);

/// <summary>
/// Issues the signed, expiring action links of firing, repeat and escalation messages (not resolved or test ones):
/// <c>{Notifications:ExternalUrl}/actions/{token}</c>, the token sealed by the cluster's key ring, valid for
/// <c>Notifications:ActionLinkLifetime</c>. The nonce is derived from the message's idempotency key, so every attempt
/// at one message carries links that count as the same link.
/// </summary>
public sealed class ActionLinkIssuer(IDataProtectionProvider provider, Microsoft.Extensions.Options.IOptions<Settings.NotificationOptions> options, TimeProvider time)
{
    private readonly IDataProtector _protector = provider.CreateProtector(ActionLink.Purpose);

    public ActionUrls? For(Notification n)
    {
        if (n.Kind is NotificationKind.Resolved or NotificationKind.Test || options.Value.ActionLinkLifetime <= TimeSpan.Zero) return null;
        var expires = time.GetUtcNow() + options.Value.ActionLinkLifetime;
        var nonce = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(n.IdempotencyKey)))[..24];
        var root = options.Value.ExternalUrl.TrimEnd('/') + ActionLink.Path;
        return new ActionUrls(
            root + _protector.Protect(ActionLink.Payload(n.AlertId, ActionLink.Acknowledge, expires, nonce)),
            root + _protector.Protect(ActionLink.Payload(n.AlertId, ActionLink.Resolve, expires, nonce)));
    }
}
