using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Configuration;

namespace Monitoring.Api.Config;

public sealed record ConfigApplyResponse(string Namespace, long PreviousVersion, long Version, bool DryRun, PlanSummary Summary, ResourceChange[] Changes);

public sealed record ConfigNamespaceResponse(string Name, long Version, int Owned, DateTimeOffset? AppliedAt, string? AppliedBy);

/// <summary>
/// Configuration as code: plan a document against the cluster, apply it whole or not at all (with the version it was
/// planned on as an ETag, so two pipelines never overwrite each other silently), export what a namespace owns, and the
/// document's JSON Schema for editors.
/// </summary>
public static class ConfigEndpoints
{
    public static void MapConfigEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/config").WithTags("Configuration");

        group.MapPost("/plan", async (ConfigDocument document, bool? prune, HttpContext http, ConfigPlanner planner, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (document.ToSet(time.GetUtcNow(), errors) is not { } set) return ProblemResults.Invalid(YamlBodies.WithLines(http, errors.ToArray()), "The document is invalid");
            var plan = await planner.PlanAsync(set, prune ?? false);
            var check = await Config(grains).ApplyAsync(new ConfigApply(set, plan.Writes, plan.Deletes, plan.Version, Actor(http), DryRun: true));
            if (Problem(http, check.Result, set.Namespace) is { } problem) return problem;
            http.Response.Headers.ETag = ETag(plan.Version);
            return TypedResults.Ok(plan);
        }).WithMetadata(new AcceptsYamlBody()).Accepts<ConfigDocument>("application/json", YamlBodies.Types);

        group.MapPost("/apply", async (ConfigDocument document, bool? prune, bool? dryRun, HttpContext http, ConfigPlanner planner, IGrainFactory grains,
            TimeProvider time, IAuditLog audit) =>
        {
            if (!TryIfMatch(http.Request, out var expected)) return ProblemResults.Invalid([new FieldError("If-Match", "must be the version a plan answered, e.g. \"3\" (or left out)")]);
            var errors = new RequestErrors();
            if (document.ToSet(time.GetUtcNow(), errors) is not { } set) return ProblemResults.Invalid(YamlBodies.WithLines(http, errors.ToArray()), "The document is invalid");
            var plan = await planner.PlanAsync(set, prune ?? false);
            if (expected is { } e && e != plan.Version)
            {
                return ProblemResults.Conflict($"namespace '{set.Namespace}' is at version {plan.Version}, not {e}: another apply came first; plan again");
            }
            var result = await Config(grains).ApplyAsync(new ConfigApply(set, plan.Writes, plan.Deletes, plan.Version, Actor(http), dryRun ?? false));
            if (Problem(http, result.Result, set.Namespace) is { } problem) return problem;
            if (result.Version != result.PreviousVersion)
            {
                await audit.AppendAsync(time.GetUtcNow(), Actor(http), "POST /api/config/apply", "config", set.Namespace,
                    new { version = result.PreviousVersion },
                    new { version = result.Version, plan.Summary, changes = plan.Changes.Select(c => $"{c.Action} {c.Kind}/{c.Id}").ToArray() });
            }
            http.Response.Headers.ETag = ETag(result.Version);
            return TypedResults.Ok(new ConfigApplyResponse(set.Namespace, result.PreviousVersion, result.Version, dryRun ?? false, plan.Summary, plan.Changes));
        }).WithMetadata(new AcceptsYamlBody()).Accepts<ConfigDocument>("application/json", YamlBodies.Types);

        group.MapGet("/export", async (string? @namespace, HttpContext http, ConfigPlanner planner) =>
        {
            if (@namespace is not null)
            {
                if (!Ids.IsValid(@namespace)) return ProblemResults.Invalid([new FieldError("namespace", Ids.Describe)]);
                var ns = await planner.NamespaceAsync(@namespace);
                if (ns.Version == 0) return ProblemResults.NotFound("namespace", @namespace);
                http.Response.Headers.ETag = ETag(ns.Version);
            }
            return TypedResults.Json(await planner.ExportAsync(@namespace), ConfigForms.Json);
        });

        group.MapGet("/namespaces", async (IGrainFactory grains) =>
            TypedResults.Ok(Page<ConfigNamespaceResponse>.All([.. (await Config(grains).GetNamespacesAsync())
                .Select(n => new ConfigNamespaceResponse(n.Name, n.Version, n.Owned.Length, n.AppliedAt, n.AppliedBy))])));

        group.MapGet("/schema", () => TypedResults.Text(Schema.Value, "application/schema+json"));
    }

    private static IConfigGrain Config(IGrainFactory grains) => grains.GetGrain<IConfigGrain>(IConfigGrain.Key);

    private static string Actor(HttpContext http) => http.User.Identity?.Name ?? "anonymous";

    private static string ETag(long version) => $"\"{version}\"";

    private static IResult? Problem(HttpContext http, WriteResult result, string name) =>
        result.Outcome == WriteOutcome.Invalid ? ProblemResults.Invalid(YamlBodies.WithLines(http, result.Errors), "The document is invalid") : ProblemResults.From(result, "namespace", name);

    /// <summary>The version named by If-Match: "3", 3 or W/"3"; absent means "whatever it is now".</summary>
    private static bool TryIfMatch(HttpRequest request, out long? version)
    {
        version = null;
        var text = request.Headers.IfMatch.ToString().Trim();
        if (text.Length == 0 || text == "*") return true;
        if (text.StartsWith("W/", StringComparison.Ordinal)) text = text[2..];
        if (long.TryParse(text.Trim('"'), out var v) && v >= 0)
        {
            version = v;
            return true;
        }
        return false;
    }

    /// <summary>The document's schema, for editors (yaml-language-server) and for the command line's offline check.</summary>
    public static readonly Lazy<string> Schema = new(() =>
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        };
        var node = JsonSchemaExporter.GetJsonSchemaAsNode(options, typeof(ConfigSchemaDocument), new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, schema) =>
            {
                if (schema is not JsonObject o) return schema;
                o.Remove("required"); // every field but the namespace may be left out: the endpoints' defaults apply
                if (context.PropertyInfo?.Name == "headers") o["additionalProperties"] = new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["$ref"] = "#/$defs/secretRef" }) };
                return o;
            },
        })!.AsObject();
        node["required"] = new JsonArray("namespace");
        node["$defs"] = new JsonObject
        {
            ["secretRef"] = new JsonObject
            {
                ["description"] = "A secret, resolved where the file is applied: {env: NAME} or {file: path relative to this file}",
                ["type"] = "object",
                ["oneOf"] = new JsonArray(
                    new JsonObject { ["required"] = new JsonArray("env"), ["properties"] = new JsonObject { ["env"] = new JsonObject { ["type"] = "string" } }, ["additionalProperties"] = false },
                    new JsonObject { ["required"] = new JsonArray("file"), ["properties"] = new JsonObject { ["file"] = new JsonObject { ["type"] = "string" } }, ["additionalProperties"] = false }),
            },
        };
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = "https://mcp-alerting.dev/schemas/config-v1.json",
            ["title"] = "MCP alerting configuration document",
        };
        foreach (var (name, value) in node.ToList())
        {
            node.Remove(name);
            schema[name] = value;
        }
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    });

    /// <summary>The document as its schema describes it: <see cref="ConfigDocument"/> with its routing parts typed.</summary>
    private sealed record ConfigSchemaDocument(
        string? ApiVersion, string Namespace, ServerRequest[]? Servers, RuleRequest[]? Rules, ChannelRequest[]? Channels,
        EscalationPolicyRequest[]? EscalationPolicies, RoutingSchema? Routing, TimeIntervalResponse[]? TimeIntervals, InhibitionResponse[]? Inhibitions,
        UserRequest[]? Users, ScheduleRequest[]? Schedules, HeartbeatRequest[]? Heartbeats,
        DiscoverySourceRequest[]? DiscoverySources, SloRequest[]? Slos);

    private sealed record RoutingSchema(RouteResponse Route, ReceiverResponse[] Receivers);
}
