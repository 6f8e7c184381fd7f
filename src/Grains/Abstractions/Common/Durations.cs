using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Monitoring.Common;

/// <summary>Prometheus-style durations: "30s", "5m", "1h30m", "250ms". Units y, w, d, h, m, s, ms, in that order.</summary>
public static partial class Durations
{
    [GeneratedRegex(@"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")]
    private static partial Regex Pattern();

    /// <summary>Longer text is refused before it is parsed or echoed ("1y2w3d4h5m6s7ms" is 15).</summary>
    public const int MaxLength = 64;

    private static readonly TimeSpan[] Units =
    [
        TimeSpan.FromDays(365), TimeSpan.FromDays(7), TimeSpan.FromDays(1),
        TimeSpan.FromHours(1), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1),
    ];

    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "a duration is required, e.g. \"30s\", \"5m\" or \"1h30m\"";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"is not a duration: longer than {MaxLength} characters; write it Prometheus-style, e.g. \"30s\", \"5m\" or \"1h30m\"";
            return false;
        }
        if (text.StartsWith('-'))
        {
            error = $"'{text}' is negative; durations must be zero or more";
            return false;
        }
        if (text == "0")
        {
            return true;
        }
        var match = Pattern().Match(text);
        if (!match.Success || match.Length == 0)
        {
            error = $"'{text}' is not a duration; write it Prometheus-style, e.g. \"30s\", \"5m\" or \"1h30m\"";
            return false;
        }
        try
        {
            var total = TimeSpan.Zero;
            for (var i = 0; i < Units.Length; i++)
            {
                var group = match.Groups[i + 1];
                if (group.Success)
                {
                    total = checked(total + Units[i] * long.Parse(group.Value, CultureInfo.InvariantCulture));
                }
            }
            value = total;
            return true;
        }
        catch (Exception e) when (e is OverflowException or FormatException)
        {
            error = $"'{text}' is too long a duration";
            return false;
        }
    }

    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0s";
        }
        var builder = new StringBuilder();
        var rest = value;
        string[] names = ["y", "w", "d", "h", "m", "s", "ms"];
        for (var i = 0; i < Units.Length; i++)
        {
            var count = rest.Ticks / Units[i].Ticks;
            if (count > 0)
            {
                builder.Append(count.ToString(CultureInfo.InvariantCulture)).Append(names[i]);
                rest -= Units[i] * count;
            }
        }
        return builder.ToString();
    }
}
