using System.Text.RegularExpressions;

namespace Monitoring.Discovery;

/// <summary>
/// Prometheus' relabeling, applied to a discovered server's labels before it is registered (table-tested, no cluster).
/// Each rule runs in order on the labels the previous one left; <c>keep</c> and <c>drop</c> can drop the server, which
/// answers null. Labels whose names start with <c>__</c> are the source's meta labels: rules read them, and they are
/// removed afterwards (<see cref="Finish"/>), except the ones a source gives a meaning (<c>__endpoint__</c>).
/// </summary>
public static partial class Relabeling
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    public static partial Regex LabelName();

    [GeneratedRegex("[^A-Za-z0-9_]")]
    private static partial Regex NotInName();

    /// <summary>A Kubernetes label or annotation name as a label name: <c>app.kubernetes.io/name</c> is <c>app_kubernetes_io_name</c>.</summary>
    public static string Sanitize(string name) => NotInName().Replace(name, "_");

    /// <summary>The rule's expression anchored at both ends, as Prometheus reads it; throws <see cref="ArgumentException"/> when it is not one.</summary>
    public static Regex Compile(RelabelRule rule) => new($"^(?:{rule.Regex})$", RegexOptions.CultureInvariant, MatchTimeout);

    public static Dictionary<string, string>? Apply(IReadOnlyList<RelabelRule> rules, Dictionary<string, string> labels)
    {
        var result = new Dictionary<string, string>(labels, StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (!Step(rule, result)) return null;
        }
        return result;
    }

    /// <summary>One rule; answers false when it drops the server.</summary>
    private static bool Step(RelabelRule rule, Dictionary<string, string> labels)
    {
        var regex = Compile(rule);
        var value = string.Join(rule.Separator, rule.SourceLabels.Select(l => labels.GetValueOrDefault(l, "")));
        switch (rule.Action)
        {
            case "keep":
                return regex.IsMatch(value);
            case "drop":
                return !regex.IsMatch(value);
            case "replace":
                if (regex.Match(value) is { Success: true } match)
                {
                    var target = match.Result(rule.TargetLabel ?? "");
                    var replaced = match.Result(rule.Replacement);
                    if (!LabelName().IsMatch(target)) break;
                    if (replaced.Length == 0) labels.Remove(target);
                    else labels[target] = replaced;
                }
                break;
            case "lowercase" or "uppercase":
                if (rule.TargetLabel is { } written && LabelName().IsMatch(written))
                {
                    labels[written] = rule.Action == "lowercase" ? value.ToLowerInvariant() : value.ToUpperInvariant();
                }
                break;
            case "labelmap":
                foreach (var (key, labelValue) in labels.ToArray())
                {
                    if (regex.Match(key) is { Success: true } m && m.Result(rule.Replacement) is var mapped && LabelName().IsMatch(mapped)) labels[mapped] = labelValue;
                }
                break;
            case "labeldrop" or "labelkeep":
                foreach (var key in labels.Keys.ToArray())
                {
                    if (regex.IsMatch(key) == (rule.Action == "labeldrop")) labels.Remove(key);
                }
                break;
        }
        return true;
    }

    /// <summary>
    /// The labels a server is registered with: the meta labels (<c>__…</c>) removed, at most 64, values cut to 1,024
    /// characters, and <c>discovery_source</c> set.
    /// </summary>
    public static Dictionary<string, string> Finish(Dictionary<string, string> labels, string sourceId)
    {
        var kept = labels.Where(l => !l.Key.StartsWith("__", StringComparison.Ordinal) && LabelName().IsMatch(l.Key) && l.Key != "discovery_source")
            .OrderBy(l => l.Key, StringComparer.Ordinal).Take(63)
            .ToDictionary(l => l.Key, l => l.Value.Length <= 1024 ? l.Value : l.Value[..1024], StringComparer.Ordinal);
        kept["discovery_source"] = sourceId;
        return kept;
    }
}
