using Monitoring.Api.Config.Documents;
using System.CommandLine;
using System.Text.Json.Nodes;
using Monitoring.Cli.Documents;
using Monitoring.Routing;

namespace Monitoring.Cli;

/// <summary>
/// <c>routes test</c>, as <c>amtool config routes test</c>: which receivers a label set reaches. Against a document's
/// routing tree offline (<c>--config</c>), or the cluster's. With <c>--expect</c>, or a file of cases, it is a check
/// for CI: exit 1 when a label set reaches other receivers than expected.
/// </summary>
public static class RoutesCommands
{
    /// <summary>One label set and the receivers it should reach, in the order the tree reaches them.</summary>
    private sealed record Case(string Name, Dictionary<string, string> Labels, string[]? Expected, Source? Source);

    public static void AddTo(RootCommand root)
    {
        var labels = new Argument<string[]>("labels") { Description = "label=value pairs", Arity = ArgumentArity.ZeroOrMore };
        var config = new Option<string[]>("--config", "-c") { Description = "Test the routing tree of this file (repeat for more files), offline, instead of the cluster's" };
        var expect = new Option<string?>("--expect") { Description = "The receivers expected, comma-separated in order (as amtool's --verify.receivers)" };
        var cases = new Option<string?>("--file") { Description = "A YAML file of cases: - {labels: {severity: critical}, receivers: [pager]}" };
        var test = new Command("test", "Which receivers a label set reaches; with --expect or --file, check them") { labels, config, expect, cases };
        test.SetAction(parse => Output.Run(() => TestAsync(parse, parse.GetValue(labels) ?? [], parse.GetValue(config) ?? [], parse.GetValue(expect), parse.GetValue(cases))));
        root.Subcommands.Add(new Command("routes", "The routing tree") { test });
    }

    private static async Task<int> TestAsync(ParseResult parse, string[] pairs, string[] configFiles, string? expect, string? casesFile)
    {
        var cases = casesFile is not null ? ReadCases(casesFile) : [new Case(string.Join(" ", pairs), ParsePairs(pairs), expect?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), null)];
        Func<Dictionary<string, string>, Task<string[]>> receivers;
        if (configFiles.Length > 0)
        {
            var files = DocumentFiles.Read(configFiles);
            var checkedDocument = OfflineChecks.Check(files, secretsRequired: false);
            if (checkedDocument.Set is not { } set) throw new CliException("the document is invalid", checkedDocument.Errors);
            if (set.Routing is not { } tree) throw new CliException("the document has no routing tree to test");
            receivers = l => Task.FromResult(RouteTree.Match(tree.Root, l).Select(m => m.Receiver ?? "").ToArray());
        }
        else
        {
            var client = new ClusterClient(Connection.Resolve(parse.GetValue(ConfigCommands.ServerOption), parse.GetValue(ConfigCommands.KeyOption)));
            receivers = async l =>
            {
                var answer = await client.SendAsync(HttpMethod.Post, "/api/routing/test", new JsonObject { ["labels"] = new JsonObject(l.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))) });
                Output.ThrowUnlessOk(answer, null);
                return [.. (answer.Body!["routes"] as JsonArray ?? []).Select(r => (string?)r!["receiver"] ?? "")];
            };
        }
        var failed = 0;
        var json = parse.GetValue(ConfigCommands.OutputOption) == "json";
        var results = new JsonArray();
        foreach (var test in cases)
        {
            var got = await receivers(test.Labels);
            var ok = test.Expected is null || got.SequenceEqual(test.Expected, StringComparer.Ordinal);
            if (!ok) failed++;
            if (json)
            {
                results.Add(new JsonObject { ["labels"] = test.Name, ["receivers"] = new JsonArray([.. got.Select(r => (JsonNode?)r)]), ["ok"] = ok });
            }
            else if (test.Expected is null) Output.Line(string.Join(",", got));
            else Output.Line(ok
                ? $"ok    {test.Name}: {string.Join(",", got)}"
                : $"FAIL  {(test.Source is null ? "" : test.Source + ": ")}{test.Name}: reached {Shown(got)}, expected {Shown(test.Expected)}");
        }
        if (json) Output.Line(results.ToJsonString());
        if (cases.Count > 1 || cases[0].Expected is not null) Output.Line($"{cases.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static string Shown(string[] receivers) => receivers.Length == 0 ? "(none)" : string.Join(",", receivers);

    private static Dictionary<string, string> ParsePairs(IEnumerable<string> pairs)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0) throw new CliException($"'{pair}' is not label=value");
            labels[pair[..eq]] = pair[(eq + 1)..].Trim('"');
        }
        return labels;
    }

    private static List<Case> ReadCases(string path)
    {
        var files = DocumentFiles.ReadValue(path, out var root);
        if (files.Errors.Count > 0) throw new CliException($"{path} cannot be read", files.Errors);
        if (root is not JsonArray items || items.Count == 0) throw new CliException($"{path} must be a list of cases: - {{labels: {{severity: critical}}, receivers: [pager]}}");
        var cases = new List<Case>();
        for (var i = 0; i < items.Count; i++)
        {
            var source = files.SourceOf($"[{i}]");
            if (items[i] is not JsonObject item || item["labels"] is not JsonObject labels || item["receivers"] is not JsonArray expected
                || item.Any(p => p.Key is not ("labels" or "receivers" or "name")))
            {
                throw new CliException($"{source}: case {i + 1} must be {{labels: {{...}}, receivers: [...]}} (and optionally name)");
            }
            var set = labels.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal);
            var name = (string?)item["name"] ?? string.Join(" ", set.Select(p => $"{p.Key}={p.Value}"));
            cases.Add(new Case(name, set, [.. expected.Select(r => r?.ToString() ?? "")], source));
        }
        return cases;
    }
}
