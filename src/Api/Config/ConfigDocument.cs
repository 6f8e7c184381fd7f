using System.Text.Json;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Configuration;

namespace Monitoring.Api.Config;

/// <summary>
/// A configuration document: what one namespace (a team, a repository) declares. Each list takes its items exactly as
/// the resource's own endpoint does (<c>POST /api/servers</c>, <c>/api/rules</c>, ...), so a file and a REST call say
/// the same thing the same way. YAML files are read into this shape by the command line.
/// </summary>
public sealed record ConfigDocument(
    string? ApiVersion,
    string? Namespace,
    ServerRequest?[]? Servers = null,
    RuleRequest?[]? Rules = null,
    ChannelRequest?[]? Channels = null,
    EscalationPolicyRequest?[]? EscalationPolicies = null,
    JsonElement? Routing = null,
    JsonElement[]? TimeIntervals = null,
    JsonElement[]? Inhibitions = null,
    UserRequest?[]? Users = null,
    ScheduleRequest?[]? Schedules = null,
    HeartbeatRequest?[]? Heartbeats = null,
    DiscoverySourceRequest?[]? DiscoverySources = null,
    SloRequest?[]? Slos = null)
{
    public const string Version1 = "mcp-alerting/v1";
    public const int MaxItems = 20_000;

    /// <summary>The document read into resources, each error at its place ("rules[3].for"); null when any is wrong.</summary>
    public ConfigSet? ToSet(DateTimeOffset now, RequestErrors errors)
    {
        if (ApiVersion is not null && ApiVersion != Version1) errors.Add("apiVersion", $"'{Short(ApiVersion)}' is not a version this cluster reads; expected {Version1}");
        if (!Ids.IsValid(Namespace)) errors.Add("namespace", $"is required: the name of what this document owns ({Ids.Describe}); prune deletes only what it owns");
        var servers = Read(Servers, "servers", errors, (item, e) => item.ToServer(null, e));
        var keep = (Servers ?? []).Where(s => s is { KeepsProbeHeaders: true, Id: not null }).Select(s => s!.Id!).ToArray();
        var rules = Read(Rules, "rules", errors, (item, e) => item.ToRule(null, now, e));
        var channels = Read(Channels, "channels", errors, (item, e) => item.ToChannel(null, e));
        var policies = Read(EscalationPolicies, "escalationPolicies", errors, (item, e) => item.ToPolicy(null, e));
        var users = Read(Users, "users", errors, (item, e) => item.ToUser(null, e));
        var schedules = Read(Schedules, "schedules", errors, (item, e) => item.WithStableOverrideIds().ToSchedule(null, e));
        var heartbeats = Read(Heartbeats, "heartbeats", errors, (item, e) => item.ToCheck(null, e));
        var sources = Read(DiscoverySources, "discoverySources", errors, (item, e) => item.ToSource(null, e));
        var slos = Read(Slos, "slos", errors, (item, e) => item.ToDefinition(null, e));
        var keepOverrides = (Schedules ?? []).Where(s => s is { Overrides: null, Id: not null }).Select(s => s!.Id!).ToArray();
        var intervals = Read(TimeIntervals, "timeIntervals", errors, (item, e) => RoutingReader.ReadTimeInterval(item, null, e));
        var inhibitions = Read(Inhibitions, "inhibitions", errors, (item, e) => RoutingReader.ReadInhibition(item, null, e));
        RoutingTree? routing = null;
        if (Routing is { ValueKind: not JsonValueKind.Null } element)
        {
            var one = new RequestErrors();
            if (RoutingReader.ReadTree(element, one) is { } tree) routing = new RoutingTree(tree.Root, tree.Receivers);
            errors.AddRange(one.ToArray().Select(e => e with { Field = Prefixed("routing", e.Field) }));
        }
        return errors.Any ? null : new ConfigSet(Namespace!, servers, rules, channels, policies, routing, intervals, inhibitions) { KeepProbeHeaders = keep, Users = users, Schedules = schedules, KeepOverrides = keepOverrides, Heartbeats = heartbeats, DiscoverySources = sources, Slos = slos };
    }

    private static T[] Read<TItem, T>(TItem?[]? items, string list, RequestErrors errors, Func<TItem, RequestErrors, T?> read)
    {
        if (items is null) return [];
        if (items.Length > MaxItems)
        {
            errors.Add(list, $"lists more than {MaxItems} items");
            return [];
        }
        var read_ = new List<T>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            var one = new RequestErrors();
            if (items[i] is not { } item || item is JsonElement { ValueKind: JsonValueKind.Null })
            {
                errors.Add($"{list}[{i}]", "is empty; expected an object");
                continue;
            }
            if (read(item, one) is { } value) read_.Add(value);
            errors.AddRange(one.ToArray().Select(e => e with { Field = Prefixed($"{list}[{i}]", e.Field) }));
        }
        return [.. read_];
    }

    private static string Prefixed(string prefix, string field) => field is "" or "body" ? prefix : $"{prefix}.{field}";

    private static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
