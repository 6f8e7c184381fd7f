using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Monitoring.Cli.Import;

/// <summary>
/// An Alertmanager configuration (alertmanager.yml) as this product's document: the route tree, receivers with their
/// email, webhook and Slack configs as channels, inhibition rules, time intervals, and matchers in both syntaxes (the
/// list of matchers, and the older match and match_re maps). Secrets are never copied: each becomes an {env: NAME}
/// reference, listed so it can be set where the file is applied. Whatever has no equivalent here (PagerDuty, Go
/// templates, HTTP client settings, ...) is reported by name, never dropped silently.
/// </summary>
public sealed partial class AlertmanagerImport
{
    private readonly List<string> _notes = [];
    private readonly List<string> _secrets = [];
    private readonly Dictionary<string, string> _receiverNames = new(StringComparer.Ordinal);
    private readonly JsonArray _channels = [];
    private JsonObject _global = [];

    /// <summary>What was not carried over, by name and place.</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>The environment variables the document's secret references name, with what each must hold.</summary>
    public IReadOnlyList<string> Secrets => _secrets;

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();

    public JsonObject Convert(JsonObject config, string ns)
    {
        _global = config["global"] as JsonObject ?? [];
        foreach (var (name, _) in _global.Where(g => g.Key is not ("smtp_smarthost" or "smtp_from" or "smtp_auth_username" or "smtp_auth_password"
            or "smtp_auth_password_file" or "smtp_require_tls" or "slack_api_url" or "slack_api_url_file")))
        {
            _notes.Add($"global.{name}: not carried over (this product has no such global setting)");
        }
        foreach (var (name, _) in config.Where(p => p.Key is not ("global" or "route" or "receivers" or "inhibit_rules" or "time_intervals" or "mute_time_intervals")))
        {
            _notes.Add(name == "templates"
                ? "templates: Go templates are not carried over; messages use this product's templates (docs/notifications.md)"
                : $"{name}: not carried over (no equivalent here)");
        }
        var receivers = new JsonArray();
        foreach (var receiver in config["receivers"] as JsonArray ?? [])
        {
            if (receiver is JsonObject r) receivers.Add(Receiver(r));
        }
        var document = new JsonObject { ["apiVersion"] = "mcp-alerting/v1", ["namespace"] = ns };
        if (_channels.Count > 0) document["channels"] = _channels;
        var intervals = new JsonArray();
        foreach (var list in new[] { "time_intervals", "mute_time_intervals" })
        {
            foreach (var interval in config[list] as JsonArray ?? [])
            {
                if (interval is JsonObject i && TimeInterval(i, list) is { } converted) intervals.Add(converted);
            }
        }
        if (intervals.Count > 0) document["timeIntervals"] = intervals;
        var inhibitions = new JsonArray();
        var index = 0;
        foreach (var rule in config["inhibit_rules"] as JsonArray ?? [])
        {
            if (rule is JsonObject r) inhibitions.Add(Inhibition(r, index));
            index++;
        }
        if (inhibitions.Count > 0) document["inhibitions"] = inhibitions;
        if (config["route"] is JsonObject route) document["routing"] = new JsonObject { ["route"] = Route(route, "route"), ["receivers"] = receivers };
        return document;
    }

    private string ReceiverName(string name)
    {
        if (_receiverNames.TryGetValue(name, out var known)) return known;
        var safe = Unsafe().Replace(name, "-").Trim('-', '.', '_');
        if (safe.Length == 0) safe = "receiver";
        if (safe.Length > 100) safe = safe[..100];
        if (safe != name) _notes.Add($"receiver '{name}' is named '{safe}' here (names are letters, digits, '.', '_' and '-')");
        return _receiverNames[name] = safe;
    }

    private JsonObject Receiver(JsonObject receiver)
    {
        var name = ReceiverName((string?)receiver["name"] ?? "receiver");
        var channels = new JsonArray();
        var resolved = new List<bool>();
        var maxAlerts = new List<long>();
        foreach (var (field, value) in receiver)
        {
            if (field == "name") continue;
            var configs = value as JsonArray ?? [];
            for (var i = 0; i < configs.Count; i++)
            {
                if (configs[i] is not JsonObject c) continue;
                var id = configs.Count == 1 ? $"{name}-{Kind(field)}" : $"{name}-{Kind(field)}-{i + 1}";
                var at = $"receivers[{name}].{field}[{i}]";
                JsonObject? channel = field switch
                {
                    "email_configs" => Email(c, id, at),
                    "webhook_configs" => Webhook(c, id, at, maxAlerts),
                    "slack_configs" => Slack(c, id, at),
                    _ => null,
                };
                if (channel is null)
                {
                    _notes.Add($"{at}: {field.Replace("_configs", "")} is not a channel type here (email, webhook and Slack are); not carried over");
                    continue;
                }
                resolved.Add((bool?)c["send_resolved"] ?? field == "webhook_configs"); // Alertmanager's defaults
                _channels.Add(channel);
                channels.Add(id);
            }
        }
        var result = new JsonObject { ["name"] = name, ["channels"] = channels };
        if (resolved.Count > 0)
        {
            if (resolved.Distinct().Count() > 1) _notes.Add($"receivers[{name}]: send_resolved differs between its configs; here it is one setting for the receiver: true");
            result["sendResolved"] = resolved.Any(r => r);
        }
        if (maxAlerts.Count > 0) result["maxAlerts"] = maxAlerts.Max();
        return result;
    }

    private static string Kind(string field) => field.Replace("_configs", "");

    private JsonObject Email(JsonObject c, string id, string at)
    {
        var smarthost = (string?)c["smarthost"] ?? (string?)_global["smtp_smarthost"];
        var from = (string?)c["from"] ?? (string?)_global["smtp_from"];
        var config = new JsonObject();
        if (smarthost is not null)
        {
            var colon = smarthost.LastIndexOf(':');
            config["host"] = colon > 0 ? smarthost[..colon] : smarthost;
            if (colon > 0 && int.TryParse(smarthost[(colon + 1)..], CultureInfo.InvariantCulture, out var port)) config["port"] = port;
        }
        else _notes.Add($"{at}: no smarthost here or in global; write the channel's host");
        var requireTls = (bool?)c["require_tls"] ?? (bool?)_global["smtp_require_tls"] ?? true;
        config["security"] = requireTls ? (config["port"]?.GetValue<int>() == 465 ? "ssl" : "starttls") : "none";
        if (((string?)c["auth_username"] ?? (string?)_global["smtp_auth_username"]) is { } user)
        {
            config["username"] = user;
            config["password"] = Secret(c, _global, "auth_password", "smtp_auth_password", $"{id}_PASSWORD", $"the SMTP password of {at}");
        }
        if (from is not null) config["from"] = from;
        config["to"] = new JsonArray([.. ((string?)c["to"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => (JsonNode?)t)]);
        NotCarried(c, at, "to", "from", "smarthost", "auth_username", "auth_password", "auth_password_file", "require_tls", "send_resolved");
        return new JsonObject { ["id"] = id, ["type"] = "email", ["config"] = config };
    }

    private JsonObject Webhook(JsonObject c, string id, string at, List<long> maxAlerts)
    {
        var config = new JsonObject { ["format"] = "alertmanager" };
        if (c["url"] is JsonValue url) config["url"] = url.DeepClone();
        else if ((string?)c["url_file"] is { } file) config["url"] = new JsonObject { ["file"] = file };
        else _notes.Add($"{at}: no url; write the channel's url");
        if ((long?)c["max_alerts"] is { } max and > 0) maxAlerts.Add(max);
        NotCarried(c, at, "url", "url_file", "send_resolved", "max_alerts");
        return new JsonObject { ["id"] = id, ["type"] = "webhook", ["config"] = config };
    }

    private JsonObject Slack(JsonObject c, string id, string at)
    {
        var config = new JsonObject
        {
            ["webhookUrl"] = Secret(c, _global, "api_url", "slack_api_url", $"{id}_WEBHOOK_URL", $"the Slack webhook URL of {at}"),
        };
        if ((string?)c["channel"] is { } channel) config["channel"] = channel;
        NotCarried(c, at, "api_url", "api_url_file", "channel", "send_resolved");
        return new JsonObject { ["id"] = id, ["type"] = "slack", ["config"] = config };
    }

    /// <summary>A secret never lands in the file: a *_file setting stays a file reference, a value becomes an environment variable to set.</summary>
    private JsonObject Secret(JsonObject c, JsonObject global, string field, string globalField, string variable, string what)
    {
        if (((string?)c[$"{field}_file"] ?? (string?)global[$"{globalField}_file"]) is { } file) return new JsonObject { ["file"] = file };
        var source = c[field] is not null ? $"{field}" : global[globalField] is not null ? $"global.{globalField}" : null;
        // A global secret stays one secret: every channel that used it names the same variable.
        var name = (source is null || source == field ? Unsafe().Replace(variable, "_") : globalField).Replace('-', '_').Replace('.', '_').ToUpperInvariant();
        var line = source is null ? $"{name}: {what} (not in the Alertmanager file either)"
            : source == field ? $"{name}: {what} (its {field})" : $"{name}: Alertmanager's {source}";
        if (!_secrets.Contains(line)) _secrets.Add(line);
        return new JsonObject { ["env"] = name };
    }

    private void NotCarried(JsonObject c, string at, params string[] carried)
    {
        foreach (var (name, _) in c.Where(p => !carried.Contains(p.Key)))
        {
            _notes.Add($"{at}.{name}: not carried over ({(name is "http_config" ? "HTTP client settings" : name is "headers" or "html" or "text" or "title" or "title_link" or "pretext" or "fields" or "actions" ? "message content comes from this product's templates" : "no equivalent here")})");
        }
    }

    private JsonObject Route(JsonObject route, string at)
    {
        var result = new JsonObject();
        var matchers = new JsonArray();
        foreach (var (field, value) in route)
        {
            switch (field)
            {
                case "receiver":
                    result["receiver"] = ReceiverName((string?)value ?? "");
                    break;
                case "group_by":
                    result["groupBy"] = value?.DeepClone();
                    break;
                case "group_wait" or "group_interval" or "repeat_interval":
                    result[Camel(field)] = value?.DeepClone();
                    break;
                case "continue":
                    result["continue"] = value?.DeepClone();
                    break;
                case "matchers":
                    foreach (var m in Matchers(value)) matchers.Add(m);
                    break;
                case "match" or "match_re":
                    foreach (var (label, v) in value as JsonObject ?? []) matchers.Add(Matcher(label, v?.ToString() ?? "", field == "match_re"));
                    break;
                case "mute_time_intervals" or "active_time_intervals":
                    result[Camel(field)] = value?.DeepClone();
                    break;
                case "routes":
                    var children = new JsonArray();
                    var i = 0;
                    foreach (var child in value as JsonArray ?? [])
                    {
                        if (child is JsonObject c) children.Add(Route(c, $"{at}.routes[{i}]"));
                        i++;
                    }
                    result["routes"] = children;
                    break;
                default:
                    _notes.Add($"{at}.{field}: not carried over (no equivalent here)");
                    break;
            }
        }
        if (matchers.Count > 0) result["matchers"] = matchers;
        return result;
    }

    private JsonObject Inhibition(JsonObject rule, int index)
    {
        var source = new JsonArray();
        var target = new JsonArray();
        var result = new JsonObject { ["id"] = $"inhibit-{index + 1}" };
        foreach (var (field, value) in rule)
        {
            switch (field)
            {
                case "source_matchers":
                    foreach (var m in Matchers(value)) source.Add(m);
                    break;
                case "target_matchers":
                    foreach (var m in Matchers(value)) target.Add(m);
                    break;
                case "source_match" or "source_match_re":
                    foreach (var (label, v) in value as JsonObject ?? []) source.Add(Matcher(label, v?.ToString() ?? "", field.EndsWith("_re")));
                    break;
                case "target_match" or "target_match_re":
                    foreach (var (label, v) in value as JsonObject ?? []) target.Add(Matcher(label, v?.ToString() ?? "", field.EndsWith("_re")));
                    break;
                case "equal":
                    result["equal"] = value?.DeepClone();
                    break;
                default:
                    _notes.Add($"inhibit_rules[{index}].{field}: not carried over (no equivalent here)");
                    break;
            }
        }
        result["sourceMatchers"] = source;
        result["targetMatchers"] = target;
        return result;
    }

    private JsonObject? TimeInterval(JsonObject interval, string list)
    {
        var name = (string?)interval["name"] ?? "interval";
        var ranges = new JsonArray();
        var locations = new HashSet<string>(StringComparer.Ordinal);
        foreach (var range in interval["time_intervals"] as JsonArray ?? [])
        {
            if (range is not JsonObject r) continue;
            var converted = new JsonObject();
            foreach (var (field, value) in r)
            {
                switch (field)
                {
                    case "times":
                        converted["times"] = new JsonArray([.. (value as JsonArray ?? []).OfType<JsonObject>().Select(t => (JsonNode?)new JsonObject
                        {
                            ["startTime"] = t["start_time"]?.DeepClone(),
                            ["endTime"] = t["end_time"]?.DeepClone(),
                        })]);
                        break;
                    case "weekdays" or "days_of_month" or "months" or "years":
                        converted[Camel(field)] = new JsonArray([.. (value as JsonArray ?? []).Select(v => (JsonNode?)v?.ToString())]);
                        break;
                    case "location":
                        locations.Add((string?)value ?? "UTC");
                        break;
                    default:
                        _notes.Add($"{list}[{name}].{field}: not carried over");
                        break;
                }
            }
            ranges.Add(converted);
        }
        if (locations.Count > 1) _notes.Add($"{list}[{name}]: its windows name different locations; here one interval has one location: {locations.Order().First()}");
        var result = new JsonObject { ["name"] = Unsafe().Replace(name, "-"), ["timeIntervals"] = ranges };
        if (locations.Count > 0) result["location"] = locations.Order().First();
        return result;
    }

    /// <summary>
    /// Alertmanager's matcher strings, one matcher each here: it also reads a braced list in one string
    /// ('{cluster="eu-1",env!="dev"}'), which is split at the commas outside quotes.
    /// </summary>
    private static IEnumerable<JsonNode?> Matchers(JsonNode? value)
    {
        foreach (var item in value as JsonArray ?? [])
        {
            var text = item?.ToString().Trim() ?? "";
            if (!(text.StartsWith('{') && text.EndsWith('}')))
            {
                yield return item?.DeepClone();
                continue;
            }
            var current = new StringBuilder();
            var quoted = false;
            for (var i = 1; i < text.Length - 1; i++)
            {
                var ch = text[i];
                if (ch == '\\' && quoted && i + 1 < text.Length - 1)
                {
                    current.Append(ch).Append(text[++i]);
                    continue;
                }
                if (ch == '"') quoted = !quoted;
                if (ch == ',' && !quoted)
                {
                    if (current.ToString().Trim() is { Length: > 0 } one) yield return one;
                    current.Clear();
                    continue;
                }
                current.Append(ch);
            }
            if (current.ToString().Trim() is { Length: > 0 } last) yield return last;
        }
    }

    /// <summary>match: {a: b} as a="b"; match_re as a=~"b" (Alertmanager anchors both the same way).</summary>
    private static string Matcher(string label, string value, bool regex)
    {
        var escaped = new StringBuilder();
        foreach (var ch in value)
        {
            escaped.Append(ch switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", _ => ch.ToString() });
        }
        return $"{label}{(regex ? "=~" : "=")}\"{escaped}\"";
    }

    private static string Camel(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }
}
