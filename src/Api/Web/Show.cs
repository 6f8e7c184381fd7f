using System.Globalization;

namespace Monitoring.Api.Web;

/// <summary>How the console writes times, durations and numbers.</summary>
public static class Show
{
    public static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "—";

    public static string Ago(DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is not { } t) return "never";
        var d = now - t;
        if (d < TimeSpan.Zero) return "in " + Span(-d);
        return Span(d) + " ago";
    }

    public static string Span(TimeSpan d) =>
        d.TotalSeconds < 60 ? $"{(int)d.TotalSeconds}s"
        : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes}m"
        : d.TotalHours < 48 ? (d.Minutes == 0 ? $"{(int)d.TotalHours}h" : $"{(int)d.TotalHours}h {d.Minutes}m")
        : $"{(int)d.TotalDays}d";

    public static string Metric(Dictionary<string, double> metrics, string name) => metrics.TryGetValue(name, out var v) ? Metric(name, v) : "—";

    public static string Metric(string name, double v) => name switch
    {
        "error_rate" or "tool_error_rate" => (v * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %",
        "up" => v >= 1 ? "up" : "down",
        _ when name.EndsWith("_seconds", StringComparison.Ordinal) || name.EndsWith("response_time", StringComparison.Ordinal) =>
            v < 1 ? (v * 1000).ToString("0", CultureInfo.InvariantCulture) + " ms" : v.ToString("0.00", CultureInfo.InvariantCulture) + " s",
        _ => v.ToString("0.##", CultureInfo.InvariantCulture),
    };

    public static string Labels(IEnumerable<KeyValuePair<string, string>> labels) =>
        string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
