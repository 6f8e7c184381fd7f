using System.Globalization;
using System.Text.Json;
using Monitoring.Tests.Support;
using YamlDotNet.Serialization;

namespace Monitoring.Tests.Alertmanager;

/// <summary>
/// Checks JSON against a definition of Alertmanager's own <c>api/v2/openapi.yaml</c> (TestData, copied from upstream):
/// types, required members, enums, date-times, <c>allOf</c>, <c>$ref</c>, <c>additionalProperties</c> and <c>minItems</c>,
/// which is all that schema uses.
/// </summary>
public static class AlertmanagerSchema
{
    private static readonly Lazy<Dictionary<object, object>> Definitions = new(() =>
    {
        var yaml = File.ReadAllText(Repository.PathTo("tests", "Monitoring.Tests", "Alertmanager", "TestData", "openapi.yaml"));
        var document = (Dictionary<object, object>)new DeserializerBuilder().Build().Deserialize<object>(yaml)!;
        return (Dictionary<object, object>)document["definitions"];
    });

    /// <summary>Throws with every mismatch when <paramref name="json"/> is not a valid <paramref name="definition"/>.</summary>
    public static void AssertValid(string definition, JsonElement json)
    {
        var errors = new List<string>();
        Check(Definitions.Value[definition], json, "$", errors);
        Assert.True(errors.Count == 0, $"not a valid {definition}:\n{string.Join("\n", errors)}\n{json}");
    }

    /// <summary>An array whose every item is the definition.</summary>
    public static void AssertArrayOf(string definition, JsonElement json)
    {
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        foreach (var item in json.EnumerateArray()) AssertValid(definition, item);
    }

    private static void Check(object schemaNode, JsonElement json, string at, List<string> errors)
    {
        var schema = (Dictionary<object, object>)schemaNode;
        if (schema.TryGetValue("$ref", out var reference))
        {
            Check(Definitions.Value[((string)reference)["#/definitions/".Length..]], json, at, errors);
            return;
        }
        if (schema.TryGetValue("allOf", out var all))
        {
            foreach (var part in (List<object>)all) Check(part, json, at, errors);
        }
        var type = schema.TryGetValue("type", out var t) ? (string)t : null;
        switch (type)
        {
            case "object":
                if (json.ValueKind != JsonValueKind.Object) { errors.Add($"{at}: expected an object, got {json.ValueKind}"); return; }
                break;
            case "array":
                if (json.ValueKind != JsonValueKind.Array) { errors.Add($"{at}: expected an array, got {json.ValueKind}"); return; }
                if (schema.TryGetValue("minItems", out var min) && json.GetArrayLength() < int.Parse((string)min, CultureInfo.InvariantCulture))
                {
                    errors.Add($"{at}: fewer than {min} items");
                }
                var i = 0;
                foreach (var item in json.EnumerateArray()) Check(schema["items"], item, $"{at}[{i++}]", errors);
                return;
            case "string":
                if (json.ValueKind != JsonValueKind.String) { errors.Add($"{at}: expected a string, got {json.ValueKind}"); return; }
                if (schema.TryGetValue("format", out var format) && (string)format == "date-time" && !DateTimeOffset.TryParse(json.GetString(), CultureInfo.InvariantCulture, out _))
                {
                    errors.Add($"{at}: '{json.GetString()}' is not a date-time");
                }
                if (schema.TryGetValue("enum", out var values) && !((List<object>)values).Cast<string>().Contains(json.GetString()))
                {
                    errors.Add($"{at}: '{json.GetString()}' is not one of {string.Join(", ", ((List<object>)values).Cast<string>())}");
                }
                return;
            case "boolean":
                if (json.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) errors.Add($"{at}: expected a boolean, got {json.ValueKind}");
                return;
        }
        if (json.ValueKind != JsonValueKind.Object) return;
        if (schema.TryGetValue("required", out var required))
        {
            foreach (var name in ((List<object>)required).Cast<string>())
            {
                if (!json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) errors.Add($"{at}: '{name}' is required");
            }
        }
        if (schema.TryGetValue("properties", out var properties))
        {
            foreach (var (name, property) in (Dictionary<object, object>)properties)
            {
                if (json.TryGetProperty((string)name, out var value) && value.ValueKind != JsonValueKind.Null) Check(property, value, $"{at}.{name}", errors);
            }
        }
        if (schema.TryGetValue("additionalProperties", out var additional))
        {
            foreach (var member in json.EnumerateObject()) Check(additional, member.Value, $"{at}.{member.Name}", errors);
        }
    }
}
