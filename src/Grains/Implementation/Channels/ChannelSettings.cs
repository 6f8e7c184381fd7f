using System.Text.Json;
using Monitoring.Channels.Templates;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>A token bucket's shape: a burst, refilled at a steady rate. Null rate means no limit.</summary>
public sealed record RateLimit(double PerMinute, int Burst)
{
    public double PerSecond => PerMinute / 60;
}

/// <summary>How long a notification is retried, and how the waits between attempts grow.</summary>
public sealed record RetrySettings(TimeSpan MaxAge, TimeSpan InitialDelay, TimeSpan MaxDelay)
{
    public static readonly RetrySettings Default = new(TimeSpan.FromHours(1), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5));
}

/// <summary>Settings every channel type shares, read from the same config object.</summary>
public sealed record ChannelSettings(RateLimit? RateLimit, RetrySettings Retry, MessageTemplates Templates)
{
    /// <summary>The config fields every channel type shares.</summary>
    public static readonly string[] Fields = ["rateLimitMinutes", "rateLimit", "retry", "subjectTemplate", "bodyTemplate"];

    public static ChannelSettings Read(JsonElement config, List<FieldError>? errors = null)
    {
        var reader = new ConfigReader(config, errors ?? []);
        RateLimit? rate = null;
        // The seed's form: at most one message every N minutes.
        if (reader.Number("rateLimitMinutes", 0, 1440, "minutes") is { } minutes && minutes > 0)
        {
            rate = new RateLimit(1 / minutes, 1);
        }
        if (reader.Object("rateLimit") is { } limit)
        {
            limit.Only("perMinute", "burst");
            var perMinute = limit.Number("perMinute", 0.001, 60_000, "messages a minute");
            var burst = limit.Number("burst", 1, 10_000, "messages");
            if (perMinute is null) limit.Fail("perMinute", "is required: messages a minute, refilled steadily");
            else rate = new RateLimit(perMinute.Value, (int)(burst ?? 1));
        }

        var retry = RetrySettings.Default;
        if (reader.Object("retry") is { } r)
        {
            r.Only("maxAge", "initialDelay", "maxDelay");
            retry = new RetrySettings(
                r.Duration("maxAge", TimeSpan.Zero, TimeSpan.FromDays(7)) ?? retry.MaxAge,
                r.Duration("initialDelay", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)) ?? retry.InitialDelay,
                r.Duration("maxDelay", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(6)) ?? retry.MaxDelay);
        }

        var subject = reader.String("subjectTemplate", maxLength: MessageRenderer.MaxTemplateLength);
        var body = reader.String("bodyTemplate", maxLength: MessageRenderer.MaxTemplateLength);
        if (MessageRenderer.Check(subject) is { } subjectError) reader.Fail("subjectTemplate", subjectError);
        if (MessageRenderer.Check(body) is { } bodyError) reader.Fail("bodyTemplate", bodyError);
        return new ChannelSettings(rate, retry, new MessageTemplates(subject, body));
    }
}
