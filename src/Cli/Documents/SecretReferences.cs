using Monitoring.Api.Config.Documents;
using System.Text.Json.Nodes;

namespace Monitoring.Cli.Documents;

/// <summary>
/// Secrets are never written in a file: a channel's config value or a probe header is written as <c>{env: NAME}</c> or
/// <c>{file: path}</c> (a path relative to the file that names it), and resolved here, where the file is applied.
/// The cluster stores the value sealed and never shows it again.
/// </summary>
public static class SecretReferences
{
    /// <summary>Where the references were that could not be resolved here (the check then takes "&lt;redacted&gt;").</summary>
    public sealed record Unresolved(string Path, string Reason);

    public static List<Unresolved> Resolve(JsonObject document, DocumentFiles files, bool required, List<FileError> errors)
    {
        var unresolved = new List<Unresolved>();
        foreach (var (list, field) in new[] { ("channels", "config"), ("servers", "probe.headers") })
        {
            if (document[list] is not JsonArray items) continue;
            for (var i = 0; i < items.Count; i++)
            {
                var at = $"{list}[{i}].{field}";
                var node = field.Split('.').Aggregate((JsonNode?)items[i], (n, name) => (n as JsonObject)?[name]);
                if (node is not null) Walk(node, at, files, required, errors, unresolved);
            }
        }
        return unresolved;
    }

    private static void Walk(JsonNode node, string path, DocumentFiles files, bool required, List<FileError> errors, List<Unresolved> unresolved)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj.ToList())
                {
                    var at = $"{path}.{name}";
                    if (value is JsonObject reference && IsReference(reference, out var kind, out var target))
                    {
                        var resolved = kind == "env" ? Environment.GetEnvironmentVariable(target) : ReadFile(files.SourceOf(at), target);
                        if (resolved is null)
                        {
                            var reason = kind == "env" ? $"the environment variable {target} is not set" : $"the file {target} cannot be read";
                            if (required) errors.Add(new FileError(files.SourceOf(at), at, reason));
                            unresolved.Add(new Unresolved(at, reason));
                            obj[name] = "<redacted>";
                        }
                        else obj[name] = resolved;
                    }
                    else if (value is not null) Walk(value, at, files, required, errors, unresolved);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } item) Walk(item, $"{path}[{i}]", files, required, errors, unresolved);
                }
                break;
        }
    }

    private static bool IsReference(JsonObject value, out string kind, out string target)
    {
        (kind, target) = ("", "");
        if (value.Count != 1) return false;
        var (name, node) = value.First();
        if (name is not ("env" or "file") || node is not JsonValue v || !v.TryGetValue<string>(out var text) || text.Length == 0) return false;
        (kind, target) = (name, text);
        return true;
    }

    private static string? ReadFile(Source? source, string path)
    {
        var full = Path.IsPathRooted(path) || source is null ? path : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source.File)) ?? "", path);
        try
        {
            return File.Exists(full) ? File.ReadAllText(full).TrimEnd('\r', '\n') : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
