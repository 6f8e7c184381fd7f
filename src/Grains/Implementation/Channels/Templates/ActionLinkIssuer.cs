using System.Security.Cryptography;
using System.Text;
using Monitoring.Security;

namespace Monitoring.Channels.Templates;

/// <summary>The acknowledge and resolve links a firing message carries, or none.</summary>
public sealed record ActionUrls(string Acknowledge, string Resolve);

/// <summary>
/// Issues the signed, expiring action links of firing, repeat and escalation messages (not resolved or test ones); a
/// person's page names the person, who acts as themselves by using it:
/// <c>{Notifications:ExternalUrl}/actions/{token}</c>, the token signed with the cluster's current key
/// (<see cref="ActionLink.Sign"/>), valid for <c>Notifications:ActionLinkLifetime</c> from the message's time. The
/// nonce is derived from the message's idempotency key and signing is deterministic, so every attempt at one message,
/// on any silo, carries the same bytes (unless the signing key turned over between them; the links then still count
/// as the same link).
/// </summary>
public sealed class ActionLinkIssuer(ActionLinkKeyRing keys, Microsoft.Extensions.Options.IOptions<Settings.NotificationOptions> options)
{
    public async ValueTask<ActionUrls?> ForAsync(Notification n)
    {
        if (n.Kind is NotificationKind.Resolved or NotificationKind.Test || options.Value.ActionLinkLifetime <= TimeSpan.Zero) return null;
        var (keyId, secret) = await keys.SigningAsync();
        var expires = n.At + options.Value.ActionLinkLifetime;
        var nonce = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(n.IdempotencyKey)))[..24];
        var root = options.Value.ExternalUrl.TrimEnd('/') + ActionLink.Path;
        return new ActionUrls(
            root + ActionLink.Sign(keyId, secret, ActionLink.Payload(n.AlertId, ActionLink.Acknowledge, expires, nonce, n.Recipient?.User)),
            root + ActionLink.Sign(keyId, secret, ActionLink.Payload(n.AlertId, ActionLink.Resolve, expires, nonce, n.Recipient?.User)));
    }
}
