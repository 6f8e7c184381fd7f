using System.Security.Cryptography;
using System.Text;

namespace Monitoring.Channels.Slack;

/// <summary>
/// Checks requests from Slack's interactivity (a button click) against a channel's signing secret: HMAC-SHA256 of
/// "v0:timestamp:body", compared in constant time. A signature already taken in the last 10 minutes (twice Slack's
/// 5-minute window) is a replay. One per channel activation; the secret never leaves it.
/// </summary>
public sealed class SlackRequests
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public SlackRequestCheck Check(string signingSecret, string timestamp, string signature, byte[] body, DateTimeOffset now)
    {
        var basis = Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(signingSecret));
        hmac.TransformBlock(basis, 0, basis.Length, null, 0);
        hmac.TransformFinalBlock(body, 0, body.Length);
        var expected = Encoding.ASCII.GetBytes("v0=" + Convert.ToHexStringLower(hmac.Hash!));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature)))
        {
            return SlackRequestCheck.BadSignature;
        }
        foreach (var old in _seen.Where(s => now - s.Value > Remembered).Select(s => s.Key).ToList()) _seen.Remove(old);
        return _seen.TryAdd(signature, now) ? SlackRequestCheck.Valid : SlackRequestCheck.Replayed;
    }
}
