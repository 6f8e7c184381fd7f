using System.Security.Cryptography;
using System.Text;

namespace Monitoring.Channels.Slack;

/// <summary>
/// Checks requests from Slack's interactivity (a button click) against a channel's signing secret: HMAC-SHA256 of
/// "v0:timestamp:body", compared in constant time. A signature already taken in the last 10 minutes (twice Slack's
/// 5-minute window) is a replay: this activation's memory answers a quick one, and a click's durable record (one-use,
/// as an action link's) answers one that reaches a later activation or another silo. One per channel activation; the
/// secret never leaves it.
/// </summary>
public sealed class SlackRequests
{
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    /// <summary>Checks a request to an interactive Slack channel (<paramref name="channel"/> is the channel's plain config, or null).</summary>
    public async Task<SlackRequestCheck> CheckAsync(IGrainFactory grains, string channelId, NotificationChannel? channel, string timestamp, string signature, byte[] body, DateTimeOffset now)
    {
        if (channel is not { Type: "slack" } || SlackSender.ReadConfig(channel.Config) is not { Interactive: true } config)
        {
            return SlackRequestCheck.NotInteractive;
        }
        var check = Check(config.SigningSecret!, timestamp, signature, body, now);
        if (check != SlackRequestCheck.Valid) return check;
        var taken = await grains.GetGrain<Security.IActionLinkGrain>($"slack/{channelId}/{signature}").UseAsync("slack");
        return taken is null ? SlackRequestCheck.Valid : SlackRequestCheck.Replayed;
    }

    /// <summary>Rewrites a message the channel posted (a bot-token channel only); answers the error, or null.</summary>
    public static async Task<string?> UpdateMessageAsync(ChannelSenders senders, NotificationChannel? channel, string slackChannel, string ts, string text)
    {
        if (channel is not { Type: "slack" } || SlackSender.ReadConfig(channel.Config) is not { Token: not null } config
            || senders.Find("slack") is not SlackSender slack)
        {
            return "not a Slack bot-token channel";
        }
        return await slack.UpdateAsync(config, slackChannel, ts, text, CancellationToken.None);
    }

    private SlackRequestCheck Check(string signingSecret, string timestamp, string signature, byte[] body, DateTimeOffset now)
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
