using Monitoring.Api.Config.Documents;
using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Cli.Documents;

namespace Monitoring.Cli;

/// <summary>What the command line prints: plans and results as a table for people or JSON for scripts; problems on stderr.</summary>
public static class Output
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Line(string text) => Console.Out.WriteLine(text);

    /// <summary>Runs a command: a <see cref="CliException"/> is printed with its errors and exits 1.</summary>
    public static async Task<int> Run(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (CliException e)
        {
            Fail(e);
            return 1;
        }
    }

    public static void Fail(CliException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        foreach (var error in e.Errors) Console.Error.WriteLine($"  {error}");
    }

    public static void Problems(IEnumerable<FileError> errors, IEnumerable<FileError> warnings)
    {
        foreach (var error in errors) Console.Error.WriteLine($"error: {error}");
        foreach (var warning in warnings) Console.Error.WriteLine($"warning: {warning}");
    }

    /// <summary>A refusal from the cluster, its errors shown at their lines in the files when they name a place in the document.</summary>
    public static void ThrowUnlessOk(Answer answer, DocumentFiles? files)
    {
        if (answer.Ok) return;
        var title = (string?)answer.Body?["title"] ?? $"HTTP {answer.Status}";
        var detail = (string?)answer.Body?["detail"];
        var errors = new List<FileError>();
        if (answer.Body?["errors"] is JsonObject fields)
        {
            foreach (var (path, messages) in fields)
            {
                foreach (var message in messages as JsonArray ?? [])
                {
                    errors.Add(new FileError(files?.SourceOf(path), path, (string?)message ?? ""));
                }
            }
        }
        var message_ = answer.Status switch
        {
            401 or 403 => $"{title}: {detail} (give a key with --api-key or MCP_ALERTING_API_KEY)",
            409 => $"refused, nothing was written: {detail}",
            _ => errors.Count > 0 ? $"{title} (HTTP {answer.Status}); nothing was written" : $"{title} (HTTP {answer.Status}): {detail}",
        };
        throw new CliException(message_, errors);
    }

    public static void Plan(JsonNode plan, string output)
    {
        if (output != "table")
        {
            Line(plan.ToJsonString(Indented));
            return;
        }
        Line($"namespace {plan["namespace"]} at version {plan["version"]}");
        Changes(plan["changes"] as JsonArray ?? []);
        foreach (var key in plan["notInDocument"] as JsonArray ?? []) Line($"  (kept) {key}: owned but no longer declared; --prune deletes it");
        Line(Summary(plan["summary"]!));
    }

    public static void Applied(JsonNode result, string output)
    {
        if (output != "table")
        {
            Line(result.ToJsonString(Indented));
            return;
        }
        var dryRun = (bool?)result["dryRun"] == true;
        Changes(result["changes"] as JsonArray ?? []);
        Line(dryRun
            ? $"dry run: the cluster checked everything and wrote nothing. {Summary(result["summary"]!)}"
            : $"applied namespace {result["namespace"]}: version {result["previousVersion"]} -> {result["version"]}. {Summary(result["summary"]!)}");
    }

    private static void Changes(JsonArray changes)
    {
        foreach (var change in changes)
        {
            var action = (string?)change!["action"];
            var sign = action switch { "create" => "+", "delete" => "-", _ => "~" };
            Line($"{sign} {action} {change["kind"]}/{change["id"]}");
            foreach (var field in change["fields"] as JsonArray ?? [])
            {
                Line($"    {field!["path"]}: {Show(field["before"])} -> {Show(field["after"])}");
            }
        }
    }

    private static string Show(JsonNode? value) => value is null ? "(none)" : value.ToJsonString();

    private static string Summary(JsonNode summary) =>
        $"{summary["create"]} to create, {summary["update"]} to update, {summary["delete"]} to delete, {summary["unchanged"]} unchanged";
}
