using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Monitoring.Cli;

/// <summary>
/// The day-to-day verbs, over the REST API: status; incidents list, show, ack, resolve; silence add, query, expire;
/// servers list, check. A table for people, <c>-o json</c> for scripts; exit 1 on any refusal, with its reason.
/// </summary>
public static class OpsCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void AddTo(RootCommand root)
    {
        var status = new Command("status", "The fleet in one screen: servers by health, firing alerts, open incidents");
        status.SetAction(parse => Run(parse, StatusAsync));
        root.Subcommands.Add(status);

        var id = new Argument<string>("id");
        var by = new Option<string?>("--by") { Description = "Who acts (shown in the timeline and the messages)" };
        var state = new Option<string?>("--status") { Description = "open, acknowledged or resolved" };
        var incidents = new Command("incidents", "Incidents: alerts grouped by the routing tree");
        var list = new Command("list", "Incidents, open first") { state };
        list.SetAction(parse => Run(parse, c => ListAsync(c, parse, "/api/incidents" + Query(("status", parse.GetValue(state))),
            ["id", "status", "receiver", "firing", "openedAt"])));
        var show = new Command("show", "One incident: its alerts and timeline") { id };
        show.SetAction(parse => Run(parse, c => ShowAsync(c, parse, $"/api/incidents/{Uri.EscapeDataString(parse.GetValue(id)!)}")));
        var ack = new Command("ack", "Acknowledge an incident: escalation stops") { id, by };
        ack.SetAction(parse => Run(parse, c => ActAsync(c, parse, $"/api/incidents/{Uri.EscapeDataString(parse.GetValue(id)!)}/ack", new JsonObject { ["by"] = parse.GetValue(by) })));
        var resolve = new Command("resolve", "Resolve an incident by hand") { id, by };
        resolve.SetAction(parse => Run(parse, c => ActAsync(c, parse, $"/api/incidents/{Uri.EscapeDataString(parse.GetValue(id)!)}/resolve", new JsonObject { ["by"] = parse.GetValue(by) })));
        incidents.Subcommands.Add(list);
        incidents.Subcommands.Add(show);
        incidents.Subcommands.Add(ack);
        incidents.Subcommands.Add(resolve);
        root.Subcommands.Add(incidents);

        var matchers = new Argument<string[]>("matchers") { Description = "label matchers: alertname=\"Server down\" severity=~\"warn.*\"", Arity = ArgumentArity.OneOrMore };
        var duration = new Option<string>("--duration", "-d") { Description = "How long, Prometheus-style", DefaultValueFactory = _ => "1h" };
        var comment = new Option<string>("--comment") { Description = "Why", DefaultValueFactory = _ => "" };
        var author = new Option<string?>("--author") { Description = "Who (defaults to the user name)" };
        var silence = new Command("silence", "Silences");
        var add = new Command("add", "Silence the alerts matching every matcher") { matchers, duration, comment, author };
        add.SetAction(parse => Run(parse, c => ActAsync(c, parse, "/api/silences", new JsonObject
        {
            ["matchers"] = new JsonArray([.. parse.GetValue(matchers)!.Select(m => (JsonNode?)m)]),
            ["duration"] = parse.GetValue(duration),
            ["comment"] = parse.GetValue(comment),
            ["createdBy"] = parse.GetValue(author) ?? Environment.UserName,
        })));
        var silenceState = new Option<string?>("--state") { Description = "active, pending or expired" };
        var query = new Command("query", "Silences, active by default") { silenceState };
        query.SetAction(parse => Run(parse, c => ListAsync(c, parse, "/api/silences" + Query(("state", parse.GetValue(silenceState) ?? "active")),
            ["id", "status", "matchers", "endsAt", "createdBy", "comment"])));
        var expire = new Command("expire", "End a silence now") { id };
        expire.SetAction(parse => Run(parse, c => ActAsync(c, parse, $"/api/silences/{Uri.EscapeDataString(parse.GetValue(id)!)}/expire", null)));
        silence.Subcommands.Add(add);
        silence.Subcommands.Add(query);
        silence.Subcommands.Add(expire);
        root.Subcommands.Add(silence);

        var health = new Option<string?>("--health") { Description = "healthy, degraded, unhealthy or unknown" };
        var label = new Option<string[]>("--label", "-l") { Description = "name=value; repeat for more" };
        var servers = new Command("servers", "Monitored servers");
        var serverList = new Command("list", "Servers with their health and open alerts") { health, label };
        serverList.SetAction(parse => Run(parse, c => ListAsync(c, parse, "/api/servers" + Query([("health", parse.GetValue(health)),
            .. (parse.GetValue(label) ?? []).Select(l => ((string, string?))("label", l)), ("limit", "1000")]), ["id", "name", "health", "openAlerts", "endpoint"])));
        var check = new Command("check", "Probe, scrape and read the server's health now, and show its status") { id };
        check.SetAction(parse => Run(parse, c => ActAsync(c, parse, $"/api/servers/{Uri.EscapeDataString(parse.GetValue(id)!)}/check", null)));
        servers.Subcommands.Add(serverList);
        servers.Subcommands.Add(check);
        root.Subcommands.Add(servers);
    }

    private static Task<int> Run(ParseResult parse, Func<ClusterClient, Task<int>> action) => Output.Run(async () =>
    {
        using var client = new ClusterClient(Connection.Resolve(parse.GetValue(ConfigCommands.ServerOption), parse.GetValue(ConfigCommands.KeyOption)));
        return await action(client);
    });

    private static bool Json(ParseResult parse) => parse.GetValue(ConfigCommands.OutputOption) != "table";

    private static async Task<int> StatusAsync(ClusterClient client)
    {
        var counts = new JsonObject();
        foreach (var health in new[] { "healthy", "degraded", "unhealthy", "unknown" })
        {
            counts[health] = await TotalAsync(client, $"/api/servers?health={health}&limit=1");
        }
        var firing = await TotalAsync(client, "/api/alerts?status=firing&limit=1");
        var open = await TotalAsync(client, "/api/incidents?status=open&limit=1");
        var acknowledged = await TotalAsync(client, "/api/incidents?status=acknowledged&limit=1");
        var silences = await TotalAsync(client, "/api/silences?state=active&limit=1");
        Output.Line($"servers: {counts["healthy"]} healthy, {counts["degraded"]} degraded, {counts["unhealthy"]} unhealthy, {counts["unknown"]} unknown");
        Output.Line($"alerts: {firing} firing; incidents: {open} open, {acknowledged} acknowledged; silences: {silences} active");
        return 0;
    }

    private static async Task<long> TotalAsync(ClusterClient client, string path)
    {
        var answer = await client.SendAsync(HttpMethod.Get, path);
        Output.ThrowUnlessOk(answer, null);
        return (long?)answer.Body!["total"] ?? 0;
    }

    private static async Task<int> ListAsync(ClusterClient client, ParseResult parse, string path, string[] columns)
    {
        var answer = await client.SendAsync(HttpMethod.Get, path);
        Output.ThrowUnlessOk(answer, null);
        var items = answer.Body!["items"] as JsonArray ?? [];
        if (Json(parse))
        {
            Output.Line(items.ToJsonString(Indented));
            return 0;
        }
        var rows = items.Select(item => columns.Select(c => Cell(item![c])).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Min(60, rows.Select(r => r[i].Length).Append(c.Length).Max())).ToArray();
        Output.Line(string.Join("  ", columns.Select((c, i) => c.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows) Output.Line(string.Join("  ", row.Select((v, i) => (v.Length > 60 ? v[..59] + "…" : v).PadRight(widths[i]))).TrimEnd());
        var total = (long?)answer.Body["total"] ?? items.Count;
        if (total > items.Count) Output.Line($"({items.Count} of {total})");
        return 0;
    }

    private static async Task<int> ShowAsync(ClusterClient client, ParseResult parse, string path)
    {
        var answer = await client.SendAsync(HttpMethod.Get, path);
        Output.ThrowUnlessOk(answer, null);
        if (Json(parse))
        {
            Output.Line(answer.Body!.ToJsonString(Indented));
            return 0;
        }
        var body = answer.Body!.AsObject();
        foreach (var (name, value) in body.Where(p => p.Value is not JsonArray and not JsonObject)) Output.Line($"{name}: {Cell(value)}");
        foreach (var alert in body["alerts"] as JsonArray ?? []) Output.Line($"  alert {alert!["alertId"]}: {alert["status"]} {alert["severity"]} {alert["ruleName"]} on {alert["serverName"]}");
        foreach (var e in body["timeline"] as JsonArray ?? []) Output.Line($"  {e!["at"]}  {e["kind"]}: {e["text"]}");
        return 0;
    }

    private static async Task<int> ActAsync(ClusterClient client, ParseResult parse, string path, JsonObject? body)
    {
        var answer = await client.SendAsync(HttpMethod.Post, path, body ?? new JsonObject());
        Output.ThrowUnlessOk(answer, null);
        if (Json(parse) || answer.Body is not JsonObject result) Output.Line(answer.Body?.ToJsonString(Indented) ?? "done");
        else Output.Line(string.Join(", ", result.Where(p => p.Key is "id" or "status" or "endsAt" or "acknowledgedBy" || p.Key == "health" && p.Value is JsonObject)
            .Select(p => $"{p.Key}: {Cell(p.Value)}")));
        return 0;
    }

    private static string Cell(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonObject o when o["status"] is { } s => Cell(s), // health: {status, reasons}
        JsonArray a => string.Join(",", a.Select(i => i is JsonObject m && m["text"] is { } text ? Cell(text) : Cell(i))),
        _ => value.ToJsonString(),
    };

    private static string Query(params (string Name, string? Value)[] pairs)
    {
        var given = pairs.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToArray();
        return given.Length == 0 ? "" : "?" + string.Join("&", given);
    }
}
