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
/// as the same link). A page matters more than its links: when the keys cannot be read (their grain's storage is down
/// as a silo starts) or opened, the message goes without them.
/// </summary>
public sealed class ActionLinkIssuer(ActionLinkKeyRing keys, Microsoft.Extensions.Options.IOptions<Settings.NotificationOptions> options, ILogger<ActionLinkIssuer> logger)
{
    public async ValueTask<ActionUrls?> ForAsync(Notification n)
    {
        if (n.Kind is NotificationKind.Resolved or NotificationKind.Test || options.Value.ActionLinkLifetime <= TimeSpan.Zero) return null;
        (string Id, byte[] Secret)? signing;
        try
        {
            signing = await keys.SigningAsync();
        }
        catch (Exception e)
        {
            logger.LogWarning("Notification {IdempotencyKey} goes without action links: the signing keys could not be read ({Error})", n.IdempotencyKey, e.GetType().Name);
            return null;
        }
        if (signing is not var (keyId, secret))
        {
            logger.LogWarning("Notification {IdempotencyKey} goes without action links: this silo's key ring opens none of the signing keys", n.IdempotencyKey);
            return null;
        }
        var expires = n.At + options.Value.ActionLinkLifetime;
        var nonce = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(n.IdempotencyKey)))[..24];
        var root = options.Value.ExternalUrl.TrimEnd('/') + ActionLink.Path;
        return new ActionUrls(
            root + ActionLink.Sign(keyId, secret, ActionLink.Payload(n.AlertId, ActionLink.Acknowledge, expires, nonce, n.Recipient?.User)),
            root + ActionLink.Sign(keyId, secret, ActionLink.Payload(n.AlertId, ActionLink.Resolve, expires, nonce, n.Recipient?.User)));
    }
}
