using System.Text.Json;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>
/// Reads a channel's JSON config field by field, collecting every problem with its path ("config.port") instead of
/// stopping at the first. Each channel type reads its own fields through one of these.
/// </summary>
public sealed class ConfigReader(JsonElement config, List<FieldError> errors, string path = "config")
{
    public List<FieldError> Errors => errors;

    public bool IsObject => config.ValueKind == JsonValueKind.Object;

    public void Fail(string field, string message) => errors.Add(new FieldError($"{path}.{field}", message));

    /// <summary>Refuses every member but these, each with its path: a misspelt field is an error, not a silently ignored one.</summary>
    public void Only(params IEnumerable<string> fields)
    {
        if (!IsObject) return;
        var known = fields as IReadOnlyCollection<string> ?? [.. fields];
        foreach (var member in config.EnumerateObject())
        {
            if (!known.Contains(member.Name))
            {
                var name = member.Name.Length <= 64 ? member.Name : member.Name[..64] + "…";
                errors.Add(new FieldError($"{path}.{name}", $"is not a known field; expected one of: {string.Join(", ", known)}"));
            }
        }
    }

    public bool Has(string field) => IsObject && config.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null;

    public string? String(string field, bool required = false, string? hint = null, int maxLength = 2048)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) Fail(field, $"is required{(hint is null ? "" : $": {hint}")}");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
        {
            Fail(field, "must be a non-empty string");
            return null;
        }
        if (text.Length > maxLength)
        {
            Fail(field, $"is longer than {maxLength} characters");
            return null;
        }
        return text;
    }

    public Uri? HttpUrl(string field, bool required = false)
    {
        var text = String(field, required, "an absolute http or https URL");
        if (text is null) return null;
        if (text.Any(char.IsControl))
        {
            // A line break in a URL is a header injected into the request that carries it.
            Fail(field, "contains a control character (such as a line break); a URL is one line of printable characters");
            return null;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            // The URL may carry a token (Slack's do), so it is not echoed back.
            Fail(field, "is not an absolute http or https URL");
            return null;
        }
        return url;
    }

    public double? Number(string field, double min, double max, string unit)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number < min || number > max)
        {
            Fail(field, $"must be a number of {unit} from {min} to {max}");
            return null;
        }
        return number;
    }

    public bool? Bool(string field)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Fail(field, "must be true or false");
            return null;
        }
        return value.GetBoolean();
    }

    public TimeSpan? Duration(string field, TimeSpan min, TimeSpan max)
    {
        var text = String(field);
        if (text is null) return null;
        if (!Durations.TryParse(text, out var duration, out var error))
        {
            Fail(field, error);
            return null;
        }
        if (duration < min || duration > max)
        {
            Fail(field, $"must be from {Durations.Format(min)} to {Durations.Format(max)}");
            return null;
        }
        return duration;
    }

    public string[]? Strings(string field, bool required = false, string? hint = null, int maxCount = 50)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) Fail(field, $"is required{(hint is null ? "" : $": {hint}")}");
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is 0 || value.GetArrayLength() > maxCount
            || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String || v.GetString() is not { Length: > 0 }))
        {
            Fail(field, $"must be a list of 1 to {maxCount} non-empty strings");
            return null;
        }
        return [.. value.EnumerateArray().Select(v => v.GetString()!)];
    }

    /// <summary>A nested object's reader, or null when the field is absent.</summary>
    public ConfigReader? Object(string field)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail(field, "must be an object");
            return null;
        }
        return new ConfigReader(value, errors, $"{path}.{field}");
    }

    public T? OneOf<T>(string field, T fallback, params (string Name, T Value)[] choices)
    {
        var text = String(field);
        if (text is null) return fallback;
        foreach (var (name, choice) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) return choice;
        }
        Fail(field, $"'{text}' is not one of: {string.Join(", ", choices.Select(c => c.Name))}");
        return fallback;
    }

    public Dictionary<string, string>? Headers(string field)
    {
        if (!IsObject || !config.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail(field, "must be an object of header names to string values");
            return null;
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in value.EnumerateObject())
        {
            if (header.Value.ValueKind != JsonValueKind.String || header.Name.Length == 0 || header.Name.Any(c => c <= ' ' || c == ':' || c > '~')
                || header.Value.GetString()!.Any(c => char.IsControl(c) && c != '\t'))
            {
                Fail($"{field}.{header.Name}", "must be a valid header name with a one-line string value, without control characters");
            }
            else
            {
                headers[header.Name] = header.Value.GetString()!;
            }
        }
        return headers;
    }
}
