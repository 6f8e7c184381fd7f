using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Monitoring.Cli.Documents;

/// <summary>
/// JSON to YAML, value for value: a string that YAML would read as something else ("true", "5", "", "null") is quoted,
/// so the file reads back into exactly the JSON it was written from.
/// </summary>
public static class YamlWriter
{
    public static string Write(JsonNode document)
    {
        var stream = new YamlStream(new YamlDocument(ToYaml(document)));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends every document with "...", which reads back fine but looks odd in a file kept in git.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode ToYaml(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var mapping = new YamlMappingNode();
                foreach (var (name, value) in obj) mapping.Add(new YamlScalarNode(name), ToYaml(value));
                return mapping;
            case JsonArray array:
                var sequence = new YamlSequenceNode();
                foreach (var item in array) sequence.Add(ToYaml(item));
                return sequence;
            case null:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                return new YamlScalarNode(text) { Style = Ambiguous(text) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };
            default:
                return new YamlScalarNode(node.ToJsonString()) { Style = ScalarStyle.Plain };
        }
    }

    /// <summary>Booleans to YAML 1.1 readers (PyYAML, older tools): "off" must stay the string "off".</summary>
    private static readonly string[] YamlOneOneBooleans = ["yes", "no", "on", "off", "y", "n"];

    private static bool Ambiguous(string text) =>
        text.Length == 0 || text.Trim() != text || text is "~" || text.Equals("null", StringComparison.OrdinalIgnoreCase)
        || YamlOneOneBooleans.Contains(text, StringComparer.OrdinalIgnoreCase)
        || text.Equals("true", StringComparison.OrdinalIgnoreCase) || text.Equals("false", StringComparison.OrdinalIgnoreCase)
        || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || text.Any(c => char.IsControl(c));
}
