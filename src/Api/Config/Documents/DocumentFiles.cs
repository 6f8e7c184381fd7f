using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Monitoring.Api.Config.Documents;

/// <summary>Where a value came from: file and line (1-based).</summary>
public sealed record Source(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>A problem with a file, at its place: "team.yaml:12: rules[3].for: ...".</summary>
public sealed record FileError(Source? Source, string Path, string Message)
{
    public override string ToString() => $"{(Source is null ? "" : Source + ": ")}{(Path.Length == 0 ? "" : Path + ": ")}{Message}";
}

/// <summary>
/// One configuration document read from YAML (or JSON, which is YAML) files: every file, and every document in a file
/// (separated by ---), merged into one, with the source line of every value, so that an error the checks name by path
/// ("rules[3].for") is shown at its line. Lists are joined; the namespace must be the same everywhere; the routing tree
/// may be written once.
/// </summary>
public sealed class DocumentFiles
{
    private static readonly string[] Lists = ["servers", "rules", "channels", "users", "schedules", "escalationPolicies", "timeIntervals", "inhibitions", "heartbeats", "discoverySources", "slos"];

    private readonly Dictionary<string, Source> _sources = new(StringComparer.Ordinal);

    public JsonObject Document { get; } = new();

    public List<FileError> Errors { get; } = [];

    /// <summary>Reads the files, or every *.yaml, *.yml and *.json of a folder, in name order.</summary>
    public static DocumentFiles Read(IEnumerable<string> paths)
    {
        var files = new DocumentFiles();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml") || f.EndsWith(".json")).Order(StringComparer.Ordinal))
                {
                    files.ReadFile(file);
                }
            }
            else if (File.Exists(path)) files.ReadFile(path);
            else files.Errors.Add(new FileError(null, "", $"{path}: no such file or folder"));
        }
        if (files.Errors.Count == 0 && files.Document.Count == 0) files.Errors.Add(new FileError(null, "", "no document was given"));
        return files;
    }

    /// <summary>One YAML file's single value as JSON (a list of cases, an Alertmanager configuration), with its lines.</summary>
    public static DocumentFiles ReadValue(string file, out JsonNode? value)
    {
        var files = new DocumentFiles();
        value = null;
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (Exception e) when (e is YamlException or IOException or UnauthorizedAccessException)
        {
            var line = e is YamlException y ? (int)y.Start.Line : 0;
            files.Errors.Add(new FileError(new Source(file, line), "", e is YamlException ? $"is not valid YAML: {e.Message}" : e.Message));
            return files;
        }
        if (stream.Documents.Count != 1)
        {
            files.Errors.Add(new FileError(new Source(file, 1), "", "must hold exactly one YAML document"));
            return files;
        }
        value = files.ToJson(stream.Documents[0].RootNode, "", file, files._sources);
        return files;
    }

    /// <summary>The line of a path, or of the nearest enclosing value that has one.</summary>
    public Source? SourceOf(string path)
    {
        while (true)
        {
            if (_sources.TryGetValue(path, out var source)) return source;
            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            if (cut <= 0) return _sources.GetValueOrDefault("");
            path = path[..cut];
        }
    }

    /// <summary>A document sent as YAML text (a request body), named <paramref name="name"/> in errors.</summary>
    public static DocumentFiles ReadText(string text, string name)
    {
        var files = new DocumentFiles();
        files.ReadDocuments(new StringReader(text), name);
        if (files.Errors.Count == 0 && files.Document.Count == 0) files.Errors.Add(new FileError(new Source(name, 1), "", "is empty: a document is a mapping of namespace, servers, rules, channels, ..."));
        return files;
    }

    private void ReadFile(string file)
    {
        try
        {
            using var reader = new StreamReader(file);
            ReadDocuments(reader, file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Errors.Add(new FileError(null, "", $"{file}: {e.Message}"));
        }
    }

    private void ReadDocuments(TextReader reader, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            Errors.Add(new FileError(new Source(file, (int)e.Start.Line), "", $"is not valid YAML: {e.Message}"));
            return;
        }
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" }) continue; // an empty document
            var local = new Dictionary<string, Source>(StringComparer.Ordinal);
            if (ToJson(document.RootNode, "", file, local) is not JsonObject root)
            {
                Errors.Add(new FileError(new Source(file, (int)document.RootNode.Start.Line), "", "a document is a mapping of namespace, servers, rules, channels, ..."));
                continue;
            }
            Merge(root, local);
        }
    }

    private void Merge(JsonObject root, Dictionary<string, Source> local)
    {
        _sources.TryAdd("", local[""]);
        foreach (var (name, value) in root.ToList())
        {
            root.Remove(name);
            if (Lists.Contains(name) && value is JsonArray items)
            {
                var into = Document[name] as JsonArray ?? (JsonArray)(Document[name] = new JsonArray());
                var offset = into.Count;
                foreach (var item in items.ToList())
                {
                    items.Remove(item);
                    into.Add(item);
                }
                foreach (var (path, source) in local.Where(p => p.Key.StartsWith(name + "[", StringComparison.Ordinal)))
                {
                    var close = path.IndexOf(']');
                    var index = int.Parse(path[(name.Length + 1)..close], CultureInfo.InvariantCulture);
                    _sources[$"{name}[{index + offset}]{path[(close + 1)..]}"] = source;
                }
                _sources.TryAdd(name, local[name]);
                continue;
            }
            if (Document[name] is { } existing)
            {
                if (JsonNode.DeepEquals(existing, value) && name is "namespace" or "apiVersion") continue;
                Errors.Add(new FileError(local.GetValueOrDefault(name), name, name is "namespace" or "apiVersion"
                    ? $"is '{value}' here but '{existing}' in {_sources[name]}: one document, one namespace"
                    : $"is written twice (also in {_sources[name]}); write it once"));
                continue;
            }
            Document[name] = value;
            foreach (var (path, source) in local.Where(p => p.Key == name || p.Key.StartsWith(name + ".", StringComparison.Ordinal) || p.Key.StartsWith(name + "[", StringComparison.Ordinal)))
            {
                _sources[path] = source;
            }
        }
    }

    /// <summary>YAML to JSON with YAML 1.2's core schema: plain true/false, null/~, numbers; quoted scalars are strings.</summary>
    private JsonNode? ToJson(YamlNode node, string path, string file, Dictionary<string, Source> sources)
    {
        sources[path] = new Source(file, (int)node.Start.Line);
        if (!node.Anchor.IsEmpty)
        {
            // An alias is the anchored node itself: read, it could repeat a value exponentially (the "billion laughs").
            Errors.Add(new FileError(new Source(file, (int)node.Start.Line), path, "anchors and aliases are not read; write the value out"));
            return null;
        }
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    var name = (key as YamlScalarNode)?.Value ?? "";
                    var at = path.Length == 0 ? name : $"{path}.{name}";
                    if (obj.ContainsKey(name))
                    {
                        Errors.Add(new FileError(new Source(file, (int)key.Start.Line), at, "appears twice; every key may appear once"));
                        continue;
                    }
                    obj[name] = ToJson(value, at, file, sources);
                }
                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                var i = 0;
                foreach (var item in sequence.Children) array.Add(ToJson(item, $"{path}[{i++}]", file, sources));
                return array;
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any)) return JsonValue.Create(text);
                if (text is "" or "~" or "null" or "Null" or "NULL") return null;
                if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
                if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)) return JsonValue.Create(whole);
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)) return JsonValue.Create(number);
                return JsonValue.Create(text);
            default:
                Errors.Add(new FileError(new Source(file, (int)node.Start.Line), path, "aliases and tags are not read; write the value out"));
                return null;
        }
    }
}
