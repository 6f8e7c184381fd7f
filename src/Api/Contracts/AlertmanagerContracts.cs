using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.External;
using Monitoring.Silences;

namespace Monitoring.Api.Contracts;

/// <summary>
/// Alertmanager API v2 shapes (its <c>api/v2/openapi.yaml</c>), so Prometheus, amtool, Karma and Grafana talk to the
/// cluster as to an Alertmanager. Names are the upstream ones.
/// </summary>
public sealed record AmPostableAlert(
    [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels,
    [property: JsonPropertyName("annotations")] Dictionary<string, string>? Annotations,
    [property: JsonPropertyName("startsAt")] string? StartsAt,
    [property: JsonPropertyName("endsAt")] string? EndsAt,
    [property: JsonPropertyName("generatorURL")] string? GeneratorUrl);

public sealed record AmReceiver([property: JsonPropertyName("name")] string Name);

public sealed record AmAlertStatus(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("silencedBy")] string[] SilencedBy,
    [property: JsonPropertyName("inhibitedBy")] string[] InhibitedBy);

public sealed record AmGettableAlert(
    [property: JsonPropertyName("labels")] Dictionary<string, string> Labels,
    [property: JsonPropertyName("annotations")] Dictionary<string, string> Annotations,
    [property: JsonPropertyName("receivers")] AmReceiver[] Receivers,
    [property: JsonPropertyName("fingerprint")] string Fingerprint,
    [property: JsonPropertyName("startsAt")] DateTimeOffset StartsAt,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("endsAt")] DateTimeOffset EndsAt,
    [property: JsonPropertyName("generatorURL"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? GeneratorUrl,
    [property: JsonPropertyName("status")] AmAlertStatus Status);

public sealed record AmAlertGroup(
    [property: JsonPropertyName("labels")] Dictionary<string, string> Labels,
    [property: JsonPropertyName("receiver")] AmReceiver Receiver,
    [property: JsonPropertyName("alerts")] AmGettableAlert[] Alerts);

public sealed record AmMatcher(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("isRegex")] bool IsRegex,
    [property: JsonPropertyName("isEqual")] bool IsEqual);

public sealed record AmSilenceStatus([property: JsonPropertyName("state")] string State);

public sealed record AmGettableSilence(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] AmSilenceStatus Status,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("matchers")] AmMatcher[] Matchers,
    [property: JsonPropertyName("startsAt")] DateTimeOffset StartsAt,
    [property: JsonPropertyName("endsAt")] DateTimeOffset EndsAt,
    [property: JsonPropertyName("createdBy")] string CreatedBy,
    [property: JsonPropertyName("comment")] string Comment)
{
    public static AmGettableSilence From(Silence silence, DateTimeOffset now) => new(
        silence.Id, new AmSilenceStatus(silence.StateAt(now).ToString().ToLowerInvariant()), silence.UpdatedAt,
        [.. silence.Matchers.Select(m => new AmMatcher(m.Name, m.Value, m.Operator is MatchOperator.Regex or MatchOperator.NotRegex,
            m.Operator is MatchOperator.Equal or MatchOperator.Regex))],
        silence.StartsAt, silence.EndsAt, silence.CreatedBy, silence.Comment);
}

public sealed record AmPostableSilence(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("matchers")] JsonElement? Matchers,
    [property: JsonPropertyName("startsAt")] string? StartsAt,
    [property: JsonPropertyName("endsAt")] string? EndsAt,
    [property: JsonPropertyName("createdBy")] string? CreatedBy,
    [property: JsonPropertyName("comment")] string? Comment);

public sealed record AmSilenceCreated([property: JsonPropertyName("silenceID")] string SilenceId);

public sealed record AmPeer([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("address")] string Address);

public sealed record AmClusterStatus(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("peers")] AmPeer[] Peers);

public sealed record AmVersionInfo(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("revision")] string Revision,
    [property: JsonPropertyName("branch")] string Branch,
    [property: JsonPropertyName("buildUser")] string BuildUser,
    [property: JsonPropertyName("buildDate")] string BuildDate,
    [property: JsonPropertyName("goVersion")] string GoVersion);

public sealed record AmConfig([property: JsonPropertyName("original")] string Original);

public sealed record AmStatus(
    [property: JsonPropertyName("cluster")] AmClusterStatus Cluster,
    [property: JsonPropertyName("versionInfo")] AmVersionInfo VersionInfo,
    [property: JsonPropertyName("config")] AmConfig Config,
    [property: JsonPropertyName("uptime")] DateTimeOffset Uptime);

/// <summary>Reads posted alerts as Alertmanager does: each is checked alone; the valid ones are kept, the others named.</summary>
public static partial class AmAlertReader
{
    public const int MaxAlertsPerRequest = 10_000;
    public const int MaxLabels = 64;
    public const int MaxTextLength = 16_384;

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)$")]
    private static partial Regex Rfc3339();

    /// <summary>RFC 3339 with any number of fraction digits (Prometheus sends nanoseconds); Go's zero time and absence are null.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text)) return true;
        if (text.Length > 64 || Rfc3339().Match(text) is not { Success: true } match) return false;
        var fraction = match.Groups[2].Value;
        if (fraction.Length > 8) fraction = fraction[..8];
        var zone = match.Groups[3].Value is "Z" or "z" ? "+00:00" : match.Groups[3].Value;
        if (!DateTimeOffset.TryParseExact(match.Groups[1].Value + fraction + zone,
                fraction.Length > 0 ? $"yyyy-MM-dd'T'HH:mm:ss.{new string('F', fraction.Length - 1)}zzz" : "yyyy-MM-dd'T'HH:mm:sszzz",
                CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)) return false;
        if (parsed.UtcDateTime.Year <= 1) return true; // 0001-01-01T00:00:00Z: Go's zero time, which amtool sends for "not set"
        value = parsed.ToUniversalTime();
        return true;
    }

    public static List<PostedAlert> Read(AmPostableAlert?[] alerts, DateTimeOffset now, TimeSpan resolveTimeout, RequestErrors errors)
    {
        var accepted = new List<PostedAlert>(alerts.Length);
        for (var i = 0; i < alerts.Length; i++)
        {
            var field = $"[{i}]";
            var before = errors.ToArray().Length;
            if (alerts[i] is not { } alert)
            {
                errors.Add(field, "must be an alert object");
                continue;
            }
            var labels = CheckSet(alert.Labels, $"{field}.labels", errors, isLabels: true);
            var annotations = CheckSet(alert.Annotations, $"{field}.annotations", errors, isLabels: false);
            if (labels is { Count: 0 }) errors.Add($"{field}.labels", "at least one label pair required");
            if (!TryParseTime(alert.StartsAt, out var startsAt)) errors.Add($"{field}.startsAt", $"'{Clip(alert.StartsAt)}' is not an RFC 3339 time");
            if (!TryParseTime(alert.EndsAt, out var endsAt)) errors.Add($"{field}.endsAt", $"'{Clip(alert.EndsAt)}' is not an RFC 3339 time");
            if (alert.GeneratorUrl is { Length: > 0 } url)
            {
                if (url.Length > 2048 || url.Any(char.IsControl) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    errors.Add($"{field}.generatorURL", "must be an absolute http(s) URL of at most 2048 characters");
                }
                else if (System.Net.IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address) && IsLinkLocal(address))
                {
                    // It is only shown as a link, but nobody should be handed a link into cloud metadata.
                    errors.Add($"{field}.generatorURL", "names a link-local address (cloud metadata lives there)");
                }
            }
            if (errors.ToArray().Length > before) continue;
            // As Alertmanager: no start is the end (or now); no end is now + resolve_timeout, which a later explicit end overrides.
            var start = startsAt ?? (endsAt is { } e && e < now ? e : now);
            var timeout = endsAt is null;
            var end = endsAt ?? now + resolveTimeout;
            if (end < start)
            {
                errors.Add($"{field}.endsAt", "start time must be before end time");
                continue;
            }
            accepted.Add(new PostedAlert(ExternalAlerts.Fingerprint(labels!), labels!, annotations ?? [], start, end, timeout, alert.GeneratorUrl is { Length: > 0 } u ? u : null));
        }
        return accepted;
    }

    private static Dictionary<string, string>? CheckSet(Dictionary<string, string>? set, string field, RequestErrors errors, bool isLabels)
    {
        if (set is null) return isLabels ? [] : null;
        if (set.Count > MaxLabels)
        {
            errors.Add(field, $"has {set.Count} entries; at most {MaxLabels}");
            return null;
        }
        var clean = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in set)
        {
            if (!LabelName().IsMatch(name)) errors.Add($"{field}.{Clip(name)}", "is not a valid label name: letters, digits and '_', not starting with a digit");
            else if (value is null) errors.Add($"{field}.{name}", "must be a string");
            else if (value.Length > MaxTextLength) errors.Add($"{field}.{name}", $"is longer than {MaxTextLength} characters");
            else if (!isLabels || value.Length > 0) clean[name] = value; // an empty label value is no label, as in Prometheus
        }
        return clean;
    }

    private static bool IsLinkLocal(System.Net.IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? IsLinkLocal(address.MapToIPv4())
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? address.GetAddressBytes() is [169, 254, ..]
        : address.IsIPv6LinkLocal;

    public static string Clip(string? text) => text is null ? "" : text.Length <= 64 ? text : text[..64] + "…";

    /// <summary>The <c>filter</c> parameters: each a matcher, or a braced list of them.</summary>
    public static Matcher[] ReadFilters(string[]? filters, RequestErrors errors)
    {
        var matchers = new List<Matcher>();
        for (var i = 0; i < (filters?.Length ?? 0); i++)
        {
            if (MatcherText.TryParseList(filters![i], out var parsed, out var error)) matchers.AddRange(parsed);
            else errors.Add($"filter[{i}]", error);
        }
        return [.. matchers];
    }

    public static Regex? ReadReceiver(string? receiver, RequestErrors errors)
    {
        if (string.IsNullOrEmpty(receiver)) return null;
        if (receiver.Length > MatcherText.MaxValueLength)
        {
            errors.Add("receiver", $"is longer than {MatcherText.MaxValueLength} characters");
            return null;
        }
        try
        {
            return new Regex($"^(?:{receiver})$", RegexOptions.CultureInvariant, Matcher.RegexTimeout);
        }
        catch (ArgumentException e)
        {
            errors.Add("receiver", $"is not a regular expression: {e.Message}");
            return null;
        }
    }
}
