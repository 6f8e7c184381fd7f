using Monitoring.Api.Config.Documents;
using System.CommandLine;
using System.Text.Json.Nodes;
using Monitoring.Cli.Documents;

namespace Monitoring.Cli.Import;

/// <summary><c>import alertmanager FILE</c>: an Alertmanager configuration as this product's document, checked as validate checks it.</summary>
public static class ImportCommands
{
    public static void AddTo(RootCommand root)
    {
        var file = new Argument<string>("file") { Description = "An Alertmanager configuration file (alertmanager.yml)" };
        var ns = new Option<string>("--namespace", "-n") { Description = "The namespace of the document written", DefaultValueFactory = _ => "alertmanager" };
        var to = new Option<string?>("--file", "-f") { Description = "Write the document to this file instead of standard output" };
        var alertmanager = new Command("alertmanager", "Turn an Alertmanager configuration into a document; what cannot be carried over is listed by name") { file, ns, to };
        alertmanager.SetAction(parse => Output.Run(() => ImportAsync(parse.GetValue(file)!, parse.GetValue(ns)!, parse.GetValue(to))));
        root.Subcommands.Add(new Command("import", "Bring configuration from another tool") { alertmanager });
    }

    private static async Task<int> ImportAsync(string path, string ns, string? to)
    {
        var read = DocumentFiles.ReadValue(path, out var value);
        if (read.Errors.Count > 0) throw new CliException($"{path} cannot be read", read.Errors);
        if (value is not JsonObject config) throw new CliException($"{path} is not an Alertmanager configuration (a mapping with route and receivers)");
        var import = new AlertmanagerImport();
        var document = import.Convert(config, ns);
        var text = $"# Imported from {Path.GetFileName(path)} by `mcp-alerting import alertmanager`.\n" + YamlWriter.Write(document);

        // The result is checked as validate checks it, at its own lines.
        var written = to ?? Path.Combine(Path.GetTempPath(), $"import-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(written, text);
        var result = OfflineChecks.Check(DocumentFiles.Read([written]), secretsRequired: false);
        if (to is null)
        {
            File.Delete(written);
            Console.Out.Write(text);
        }
        foreach (var note in import.Notes) Console.Error.WriteLine($"not carried over: {note}");
        foreach (var secret in import.Secrets) Console.Error.WriteLine($"secret to set where the file is applied: {secret}");
        foreach (var error in result.Errors) Console.Error.WriteLine($"error: {error}");
        Console.Error.WriteLine(result.Set is { } set
            ? $"imported: {set.Channels.Length} channels, {set.Routing?.Receivers.Length ?? 0} receivers, {set.Inhibitions.Length} inhibitions, {set.TimeIntervals.Length} time intervals; {import.Notes.Count} things not carried over"
            : "imported, but the document does not pass validate: fix the errors above");
        return result.Set is null ? 1 : 0;
    }
}
