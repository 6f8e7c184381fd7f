using System.Text.Json;

namespace Monitoring.Api.Mcp;

/// <summary>
/// Checks a call's arguments against the tool's input schema before the tool runs, so a wrong call is told what to
/// fix ("'worst' must be an integer") instead of the SDK's "an error occurred". The tools' schemas use only strings,
/// integers and arrays of strings, each optionally null.
/// </summary>
public static class ToolArguments
{
    public const int MaxArrayItems = 64;

    /// <summary>What is wrong with the arguments, or null when they fit the schema.</summary>
    public static string? Problem(JsonElement schema, IDictionary<string, JsonElement>? arguments)
    {
        arguments ??= new Dictionary<string, JsonElement>();
        var properties = schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var known = properties.ValueKind == JsonValueKind.Object ? properties.EnumerateObject().Select(x => x.Name).ToList() : [];
        foreach (var (name, value) in arguments)
        {
            if (!known.Contains(name))
            {
                return $"'{ReadTools.Clip(name)}' is not an argument of this tool; it takes: {(known.Count == 0 ? "nothing" : string.Join(", ", known))}.";
            }
            if (Mismatch(properties.GetProperty(name), value) is { } expected) return $"'{name}' must be {expected}.";
        }
        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
            {
                if (!arguments.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null) return $"'{name}' is required.";
            }
        }
        return null;
    }

    private static string? Mismatch(JsonElement property, JsonElement value)
    {
        var types = Types(property);
        if (value.ValueKind == JsonValueKind.Null) return types.Contains("null") ? null : Describe(property, types);
        var fits = value.ValueKind switch
        {
            JsonValueKind.String => types.Contains("string"),
            JsonValueKind.Number => types.Contains("integer") ? value.TryGetInt32(out _) : types.Contains("number"),
            JsonValueKind.True or JsonValueKind.False => types.Contains("boolean"),
            JsonValueKind.Array => types.Contains("array") && value.GetArrayLength() <= MaxArrayItems
                && (!property.TryGetProperty("items", out var items) || value.EnumerateArray().All(item => Mismatch(items, item) is null)),
            _ => false,
        };
        return fits ? null : Describe(property, types);
    }

    private static string Describe(JsonElement property, List<string> types)
    {
        var kind = types.FirstOrDefault(t => t != "null") ?? "a value";
        return kind switch
        {
            "integer" => "an integer",
            "array" => $"an array of at most {MaxArrayItems} strings",
            _ => "a " + kind,
        };
    }

    private static List<string> Types(JsonElement property) =>
        !property.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString() ?? "")]
        : [type.GetString() ?? ""];
}
