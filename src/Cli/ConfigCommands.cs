using Monitoring.Api.Config.Documents;
using System.CommandLine;
using System.Text.Json.Nodes;
using Monitoring.Cli.Documents;

namespace Monitoring.Cli;

/// <summary>
/// validate, diff, apply, export and schema. Exit codes are for pipelines: validate and apply 0 or 1; diff 0 when the
/// cluster already matches, 2 when applying would change something, 1 on any error.
/// </summary>
public static class ConfigCommands
{
    public const int Changes = 2;

    public static readonly Option<string?> ServerOption = new("--server", "-s") { Description = $"The cluster's URL (else MCP_ALERTING_URL, the profile's file, or {Connection.DefaultServer})" };
    public static readonly Option<string?> KeyOption = new("--api-key") { Description = "The API key to present (else MCP_ALERTING_API_KEY or the profile's file)" };
    public static readonly Option<string> OutputOption = new("--output", "-o") { Description = "table (for people) or json (for scripts)", DefaultValueFactory = _ => "table" };
    private static readonly Option<bool> PruneOption = new("--prune") { Description = "Delete what the document's namespace owns and the document no longer declares (never anything else)" };

    public static void AddTo(RootCommand root)
    {
        OutputOption.AcceptOnlyFromAmong("table", "json", "yaml");
        foreach (var option in new Option[] { ServerOption, KeyOption, OutputOption }) root.Options.Add(option);
        ServerOption.Recursive = KeyOption.Recursive = OutputOption.Recursive = true;

        var files = new Argument<string[]>("files") { Description = "YAML or JSON files, or folders of them, making one document", Arity = ArgumentArity.OneOrMore };

        var validate = new Command("validate", "Check a document offline, with no cluster: every field, expression, template, channel config and reference within it") { files };
        validate.SetAction(parse => Output.Run(() => Task.FromResult(Validate(parse.GetValue(files)!, parse.GetValue(OutputOption)!))));
        root.Subcommands.Add(validate);

        var diff = new Command("diff", "Show what applying the document would change; exit 0 for nothing, 2 for changes") { files, PruneOption };
        diff.SetAction(parse => Output.Run(() => DiffAsync(parse, parse.GetValue(files)!)));
        root.Subcommands.Add(diff);

        var dryRun = new Option<bool>("--dry-run") { Description = "Have the cluster check everything and show the plan, and write nothing" };
        var expect = new Option<long?>("--expect-version")
        {
            Description = "Apply only if the namespace is still at this version (the one a reviewed diff showed); else refuse, exit 1",
        };
        var apply = new Command("apply", "Apply the document whole, or nothing of it, at the version its plan was made on") { files, PruneOption, dryRun, expect };
        apply.SetAction(parse => Output.Run(() => ApplyAsync(parse, parse.GetValue(files)!, parse.GetValue(dryRun), parse.GetValue(expect))));
        root.Subcommands.Add(apply);

        var ns = new Option<string?>("--namespace", "-n") { Description = "Export what this namespace owns; without it, everything no namespace owns (as namespace 'default')" };
        var to = new Option<string?>("--file", "-f") { Description = "Write to this file instead of standard output" };
        var export = new Command("export", "Write the cluster's configuration as a document that applies back as no change") { ns, to };
        export.SetAction(parse => Output.Run(() => ExportAsync(parse, parse.GetValue(ns), parse.GetValue(to))));
        root.Subcommands.Add(export);

        var schema = new Command("schema", "Print the document's JSON Schema (for editors: yaml-language-server)");
        schema.SetAction(_ =>
        {
            Console.Out.WriteLine(Api.Config.ConfigEndpoints.Schema.Value);
            return 0;
        });
        root.Subcommands.Add(schema);
    }

    private static int Validate(string[] paths, string output)
    {
        var files = DocumentFiles.Read(paths);
        var result = OfflineChecks.Check(files, secretsRequired: false);
        Output.Problems(result.Errors, result.Warnings);
        if (result.Set is not { } set) return 1;
        Output.Line(output == "json"
            ? new JsonObject { ["valid"] = true, ["namespace"] = set.Namespace, ["warnings"] = result.Warnings.Count }.ToJsonString()
            : $"valid: namespace {set.Namespace}: {set.Servers.Length} servers, {set.Rules.Length} rules, {set.Channels.Length} channels, "
              + $"{set.Users.Length} users, {set.Schedules.Length} schedules, {set.Policies.Length} escalation policies, {set.TimeIntervals.Length} time intervals, {set.Inhibitions.Length} inhibitions, {set.Heartbeats.Length} heartbeats, {set.DiscoverySources.Length} discovery sources, {set.Slos.Length} SLOs{(set.Routing is null ? "" : ", the routing tree")}");
        return 0;
    }

    /// <summary>Checks offline first (so a broken file never reaches the cluster), then resolves the secrets.</summary>
    private static (DocumentFiles Files, JsonObject Body) Prepare(string[] paths)
    {
        var files = DocumentFiles.Read(paths);
        var result = OfflineChecks.Check(files, secretsRequired: true);
        if (result.Set is null) throw new CliException("the document is invalid", result.Errors);
        var errors = new List<FileError>();
        var body = OfflineChecks.Resolved(files, errors);
        if (errors.Count > 0) throw new CliException("the document's secrets cannot be resolved", errors);
        return (files, body);
    }

    private static async Task<int> DiffAsync(ParseResult parse, string[] paths)
    {
        var (files, body) = Prepare(paths);
        using var client = Client(parse);
        var plan = await client.SendAsync(HttpMethod.Post, $"/api/config/plan?prune={Flag(parse.GetValue(PruneOption))}", body);
        Output.ThrowUnlessOk(plan, files);
        Output.Plan(plan.Body!, parse.GetValue(OutputOption)!);
        return HasChanges(plan.Body!) ? Changes : 0;
    }

    private static async Task<int> ApplyAsync(ParseResult parse, string[] paths, bool dryRun, long? expectedVersion)
    {
        var (files, body) = Prepare(paths);
        var prune = Flag(parse.GetValue(PruneOption));
        var output = parse.GetValue(OutputOption)!;
        using var client = Client(parse);
        var plan = await client.SendAsync(HttpMethod.Post, $"/api/config/plan?prune={prune}", body);
        Output.ThrowUnlessOk(plan, files);
        if (expectedVersion is { } expected && $"\"{expected}\"" != plan.ETag)
        {
            throw new CliException($"refused, nothing was written: namespace {plan.Body!["namespace"]} is at version {plan.Body["version"]}, not {expected}; review the diff again");
        }
        if (!HasChanges(plan.Body!) && !dryRun)
        {
            Output.Plan(plan.Body!, output);
            return 0;
        }
        // The version the plan was made on: if another apply lands first, this one is refused (409), never merged.
        var applied = await client.SendAsync(HttpMethod.Post, $"/api/config/apply?prune={prune}&dryRun={Flag(dryRun)}", body,
            expectedVersion is { } pinned ? $"\"{pinned}\"" : plan.ETag);
        Output.ThrowUnlessOk(applied, files);
        Output.Applied(applied.Body!, output);
        return 0;
    }

    private static async Task<int> ExportAsync(ParseResult parse, string? ns, string? file)
    {
        using var client = Client(parse);
        var answer = await client.SendAsync(HttpMethod.Get, ns is null ? "/api/config/export" : $"/api/config/export?namespace={Uri.EscapeDataString(ns)}");
        Output.ThrowUnlessOk(answer, null);
        var text = parse.GetValue(OutputOption) == "json"
            ? answer.Body!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n"
            : "# yaml-language-server: $schema=config.schema.json\n" + YamlWriter.Write(answer.Body!);
        if (file is null) Console.Out.Write(text);
        else await File.WriteAllTextAsync(file, text);
        return 0;
    }

    private static ClusterClient Client(ParseResult parse) => new(Connection.Resolve(parse.GetValue(ServerOption), parse.GetValue(KeyOption)));

    private static bool HasChanges(JsonNode plan) => plan["changes"] is JsonArray { Count: > 0 };

    private static string Flag(bool value) => value ? "true" : "false";
}
