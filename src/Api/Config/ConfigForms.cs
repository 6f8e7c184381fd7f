using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Monitoring.Api.Contracts;
using Monitoring.Channels;
using Monitoring.Configuration;
using Monitoring.Escalation;
using Monitoring.Rules;
using Monitoring.Servers;

namespace Monitoring.Api.Config;

/// <summary>
/// A resource as a document writes it: the fields its endpoint takes, no timestamps or counters, nulls left out (a
/// route's missing groupBy inherits; an empty one does not). The plan compares these forms, and export writes them, so
/// an exported document applied again changes nothing.
/// </summary>
public static class ConfigForms
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Stands for a secret in a plan: equal secrets give equal markers within this process, and nothing outside it.</summary>
    private static readonly byte[] MarkerKey = RandomNumberGenerator.GetBytes(32);

    public const string SecretMarker = "<secret:";

    private static readonly string[] Timestamps = ["createdAt", "updatedAt"];

    public static JsonObject Server(McpServer s, bool withHeaders)
    {
        var form = Node(ServerResponse.From(s), Timestamps);
        var probe = form["probe"]!.AsObject();
        probe.Remove("headerNames");
        if (withHeaders && s.Probe.Headers.Count > 0)
        {
            probe["headers"] = new JsonObject(s.Probe.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
                .Select(h => KeyValuePair.Create(h.Key, (JsonNode?)Marker(h.Value))));
        }
        return form;
    }

    public static JsonObject Rule(AlertRule r) => Node(RuleResponse.From(r), Timestamps);

    public static JsonObject Policy(EscalationPolicy p) => Node(EscalationPolicyResponse.From(p), Timestamps);

    public static JsonObject User(OnCall.User u) => Node(UserResponse.From(u), Timestamps);

    /// <summary>A schedule; without its overrides when the document leaves them to the console.</summary>
    public static JsonObject Schedule(OnCall.Schedule s, bool withOverrides)
    {
        var form = Node(ScheduleResponse.From(s), Timestamps);
        if (!withOverrides) form.Remove("overrides");
        return form;
    }

    /// <summary>A heartbeat check as written: what it expects, not what its pings made of it.</summary>
    public static JsonObject Heartbeat(Heartbeats.HeartbeatCheck c)
    {
        var form = Node(HeartbeatResponse.From(new Heartbeats.HeartbeatView(c, default, null, null, null, false, [])), Timestamps);
        foreach (var name in new[] { "status", "paused", "lastPing", "nextExpectedAt", "downAt", "pingUrl", "pings" }) form.Remove(name);
        return form;
    }

    /// <summary>A discovery source as written: where and how often, not how its polls went.</summary>
    public static JsonObject DiscoverySource(Discovery.DiscoverySource d)
    {
        var form = Node(DiscoverySourceResponse.From(new Discovery.DiscoveryView(d, Discovery.DiscoveryStatus.None)), Timestamps);
        form.Remove("status");
        return form;
    }

    /// <summary>An objective as written: what it asks, not what its last evaluation found.</summary>
    public static JsonObject Slo(Monitoring.Slo.SloDefinition d)
    {
        var form = Node(SloResponse.From(d, null, null, null, 0), Timestamps);
        foreach (var name in new[] { "evaluatedAt", "budgetRemaining", "servers", "firing", "rows" }) form.Remove(name);
        return form;
    }

    public static JsonObject Channel(string id, string type, bool enabled, string redactedConfig) => new()
    {
        ["id"] = id,
        ["type"] = type,
        ["enabled"] = enabled,
        ["config"] = JsonNode.Parse(redactedConfig),
    };

    public static JsonObject Routing(RoutingTree tree) => new()
    {
        ["route"] = JsonSerializer.SerializeToNode(RouteResponse.From(tree.Root), Json),
        ["receivers"] = JsonSerializer.SerializeToNode(tree.Receivers.Select(ReceiverResponse.From).ToArray(), Json),
    };

    public static JsonObject TimeInterval(Routing.TimeInterval t) => Node(TimeIntervalResponse.From(t), []);

    public static JsonObject Inhibition(Routing.InhibitRule i) => Node(InhibitionResponse.From(i), []);

    /// <summary>Whether a plan's value stands for a secret, to be shown as "&lt;redacted&gt;".</summary>
    public static bool IsMarker(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var text) && text.StartsWith(SecretMarker, StringComparison.Ordinal);

    private static string Marker(string secret) =>
        SecretMarker + Convert.ToHexString(HMACSHA256.HashData(MarkerKey, Encoding.UTF8.GetBytes(secret)))[..16] + ">";

    private static JsonObject Node(object value, string[] drop)
    {
        var node = JsonSerializer.SerializeToNode(value, value.GetType(), Json)!.AsObject();
        foreach (var name in drop) node.Remove(name);
        Prune(node);
        return node;
    }

    /// <summary>Drops nulls at every depth (anonymous and nested records serialize them otherwise).</summary>
    private static void Prune(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o.ToList())
                {
                    if (value is null) o.Remove(name);
                    else Prune(value);
                }
                break;
            case JsonArray a:
                foreach (var item in a) Prune(item);
                break;
        }
    }
}
