using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Monitoring.Security;

namespace Monitoring.Channels.Templates;

/// <summary>The acknowledge and resolve links a firing message carries, or none.</summary>
public sealed record ActionUrls(string Acknowledge, string Resolve);

/// <summary>
/// Issues the signed, expiring action links of firing, repeat and escalation messages (not resolved or test ones); a
/// person's page names the person, who acts as themselves by using it:
/// <c>{Notifications:ExternalUrl}/actions/{token}</c>, the token sealed by the cluster's key ring, valid for
/// <c>Notifications:ActionLinkLifetime</c> from the message's time. The nonce is derived from the message's
/// idempotency key, so every attempt at one message carries links that count as the same link; sealing is randomised,
/// so the links made for a message are kept (a bounded cache) until its delivery is final, and a retry from the same
/// silo sends the same bytes. A message sent again after that (another channel, or after a restart) carries new bytes
/// that still count as the same link.
/// </summary>
public sealed class ActionLinkIssuer(IDataProtectionProvider provider, Microsoft.Extensions.Options.IOptions<Settings.NotificationOptions> options)
{
    private const int Remembered = 20_000;
    private readonly IDataProtector _protector = provider.CreateProtector(ActionLink.Purpose);
    private readonly Settings.BoundedCache<string, ActionUrls> _made = new(Remembered, StringComparer.Ordinal);

    public ActionUrls? For(Notification n)
    {
        if (n.Kind is NotificationKind.Resolved or NotificationKind.Test || options.Value.ActionLinkLifetime <= TimeSpan.Zero) return null;
        if (_made.TryGetValue(n.IdempotencyKey, out var known)) return known;
        var expires = n.At + options.Value.ActionLinkLifetime;
        var nonce = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(n.IdempotencyKey)))[..24];
        var root = options.Value.ExternalUrl.TrimEnd('/') + ActionLink.Path;
        var made = new ActionUrls(
            root + _protector.Protect(ActionLink.Payload(n.AlertId, ActionLink.Acknowledge, expires, nonce, n.Recipient?.User)),
            root + _protector.Protect(ActionLink.Payload(n.AlertId, ActionLink.Resolve, expires, nonce, n.Recipient?.User)));
        return _made.GetOrAdd(n.IdempotencyKey, made);
    }

    /// <summary>How many messages' links are kept.</summary>
    public int Remembering => _made.Count;

    /// <summary>The message's delivery is final: no retry will need its links' bytes again (about 1 KB each).</summary>
    public void Forget(string idempotencyKey) => _made.Remove(idempotencyKey);
}
