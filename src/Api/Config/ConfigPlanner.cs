using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Monitoring.Channels;
using Monitoring.Configuration;
using Monitoring.Escalation;
using Monitoring.Listings;
using Monitoring.OnCall;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Servers;

namespace Monitoring.Api.Config;

/// <summary>One field that changes: its path in the resource, as the document writes it, and its value before and after.</summary>
public sealed record FieldChange(string Path, JsonNode? Before, JsonNode? After);

/// <summary>What an apply does to one resource: create, update or delete, with the fields an update changes.</summary>
public sealed record ResourceChange(string Kind, string Id, string Action, FieldChange[] Fields);

public sealed record PlanSummary(int Create, int Update, int Delete, int Unchanged);

/// <summary>
/// What applying a document would change, resource by resource and field by field, against the namespace at
/// <see cref="Version"/> (the ETag an apply names). <see cref="NotInDocument"/> lists what the namespace owns that the
/// document no longer declares: deleted with prune, kept without.
/// </summary>
public sealed record ConfigPlan(string Namespace, long Version, PlanSummary Summary, ResourceChange[] Changes, string[] Unchanged, string[] NotInDocument)
{
    internal ConfigKey[] Writes { get; init; } = [];

    internal ConfigKey[] Deletes { get; init; } = [];
}

/// <summary>Compares a document with what the cluster holds now: each resource's form, as <see cref="ConfigForms"/> writes it.</summary>
public sealed class ConfigPlanner(IGrainFactory grains, IListingStore listings)
{
    private const int Parallelism = 64;

    private IConfigGrain Config => grains.GetGrain<IConfigGrain>(IConfigGrain.Key);

    public async Task<ConfigNamespace> NamespaceAsync(string name) =>
        (await Config.GetNamespacesAsync()).FirstOrDefault(n => n.Name == name) ?? ConfigNamespace.New(name);

    public async Task<ConfigPlan> PlanAsync(ConfigSet set, bool prune)
    {
        var ns = await NamespaceAsync(set.Namespace);
        var routing = await grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(-1) ?? RoutingSet.Empty;
        var forms = new ConcurrentDictionary<ConfigKey, (JsonObject? Current, JsonObject Desired, FieldChange[] Extra)>();
        await Parallel.ForEachAsync(set.Keys, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (key, _) =>
            forms[key] = await FormsAsync(set, key, routing));

        var changes = new List<ResourceChange>();
        var unchanged = new List<string>();
        var writes = new List<ConfigKey>();
        foreach (var key in set.Keys.Order())
        {
            var (current, desired, extra) = forms[key];
            if (current is null)
            {
                changes.Add(new ResourceChange(key.Kind, key.Id, "create", []));
                writes.Add(key);
                continue;
            }
            var fields = new List<FieldChange>();
            Diff(current, desired, "", fields);
            fields.AddRange(extra);
            if (fields.Count == 0)
            {
                unchanged.Add(key.ToString());
                continue;
            }
            changes.Add(new ResourceChange(key.Kind, key.Id, "update", [.. fields]));
            writes.Add(key);
        }
        var declared = set.Keys.ToHashSet();
        var absent = ns.Owned.Where(k => !declared.Contains(k)).Order().ToArray();
        if (prune) changes.AddRange(absent.Select(k => new ResourceChange(k.Kind, k.Id, "delete", [])));
        var summary = new PlanSummary(changes.Count(c => c.Action == "create"), changes.Count(c => c.Action == "update"), changes.Count(c => c.Action == "delete"), unchanged.Count);
        return new ConfigPlan(set.Namespace, ns.Version, summary, [.. changes], [.. unchanged], prune ? [] : [.. absent.Select(k => k.ToString())])
        {
            Writes = [.. writes],
            Deletes = prune ? absent : [],
        };
    }

    /// <summary>The document a namespace's resources make now, or, with no namespace, every resource no namespace owns.</summary>
    public async Task<JsonObject> ExportAsync(string? name)
    {
        var namespaces = await Config.GetNamespacesAsync();
        ConfigKey[] keys;
        if (name is not null)
        {
            keys = namespaces.FirstOrDefault(n => n.Name == name)?.Owned ?? [];
        }
        else
        {
            var owned = namespaces.SelectMany(n => n.Owned).ToHashSet();
            keys = [.. (await AllKeysAsync()).Where(k => !owned.Contains(k))];
        }
        var routing = await grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(-1) ?? RoutingSet.Empty;
        var forms = new ConcurrentDictionary<ConfigKey, JsonObject?>();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (key, _) =>
            forms[key] = await CurrentAsync(key, routing, withHeaders: false));
        var document = new JsonObject { ["apiVersion"] = ConfigDocument.Version1, ["namespace"] = name ?? "default" };
        void List(string field, string kind)
        {
            var items = keys.Where(k => k.Kind == kind).Order().Select(k => forms[k]).OfType<JsonObject>().ToArray();
            if (items.Length > 0) document[field] = new JsonArray(items);
        }
        List("channels", ConfigKey.ChannelKind);
        List("users", ConfigKey.UserKind);
        List("schedules", ConfigKey.ScheduleKind);
        List("escalationPolicies", ConfigKey.PolicyKind);
        List("timeIntervals", ConfigKey.TimeIntervalKind);
        List("inhibitions", ConfigKey.InhibitionKind);
        if (keys.Contains(ConfigKey.RoutingTree) && forms[ConfigKey.RoutingTree] is { } tree) document["routing"] = tree;
        List("servers", ConfigKey.ServerKind);
        List("rules", ConfigKey.RuleKind);
        List("heartbeats", ConfigKey.HeartbeatKind);
        List("discoverySources", ConfigKey.DiscoveryKind);
        List("slos", ConfigKey.SloKind);
        return document;
    }

    private async Task<ConfigKey[]> AllKeysAsync()
    {
        var (servers, _) = await listings.QueryAsync<ServerEntry>([], int.MaxValue, 0);
        var (channels, _) = await listings.QueryAsync<ChannelEntry>([], int.MaxValue, 0);
        var (policies, _) = await listings.QueryAsync<PolicyEntry>([], int.MaxValue, 0);
        var (users, _) = await listings.QueryAsync<UserEntry>([], int.MaxValue, 0);
        var (schedules, _) = await listings.QueryAsync<ScheduleEntry>([], int.MaxValue, 0);
        var (heartbeats, _) = await listings.QueryAsync<HeartbeatEntry>([], int.MaxValue, 0);
        var (sources, _) = await listings.QueryAsync<DiscoveryEntry>([], int.MaxValue, 0);
        var (slos, _) = await listings.QueryAsync<SloEntry>([], int.MaxValue, 0);
        var rules = await grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync();
        var routing = await grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(-1) ?? RoutingSet.Empty;
        var hasTree = routing.Receivers.Length > 0 || routing.Root.Routes.Length > 0 || routing.Root.Receiver is not null;
        return
        [
            .. channels.Select(c => ConfigKey.Channel(c.Id)), .. users.Select(u => ConfigKey.User(u.Id)), .. schedules.Select(s => ConfigKey.Schedule(s.Id)),
            .. policies.Select(p => ConfigKey.Policy(p.Id)),
            .. routing.TimeIntervals.Select(t => ConfigKey.TimeInterval(t.Name)), .. routing.Inhibitions.Select(i => ConfigKey.Inhibition(i.Id)),
            .. hasTree ? [ConfigKey.RoutingTree] : Array.Empty<ConfigKey>(),
            .. servers.Select(s => ConfigKey.Server(s.Id)), .. rules.Rules.Select(r => ConfigKey.Rule(r.Id)),
            .. heartbeats.Select(h => ConfigKey.Heartbeat(h.Id)), .. sources.Select(d => ConfigKey.DiscoverySource(d.Id)),
            .. slos.Select(s => ConfigKey.Slo(s.Id)),
        ];
    }

    private async Task<(JsonObject? Current, JsonObject Desired, FieldChange[] Extra)> FormsAsync(ConfigSet set, ConfigKey key, RoutingSet routing)
    {
        switch (key.Kind)
        {
            case ConfigKey.ServerKind:
                var server = set.Servers[set.IndexOf(key)];
                var stored = await grains.GetGrain<IMcpServerGrain>(key.Id).GetAsync();
                if (stored is not null && set.KeepsProbeHeaders(key.Id)) server = server with { Probe = server.Probe with { Headers = stored.Probe.Headers } };
                return (stored is null ? null : ConfigForms.Server(stored, withHeaders: true), ConfigForms.Server(server, withHeaders: true), []);
            case ConfigKey.ChannelKind:
                var channel = set.Channels[set.IndexOf(key)];
                var grain = grains.GetGrain<INotificationChannelGrain>(key.Id);
                var view = await grain.GetAsync();
                var comparison = await grain.CompareAsync(channel);
                FieldChange[] secrets = comparison.SecretsDiffer ? [new FieldChange("config (a secret value)", JsonValue.Create("<redacted>"), JsonValue.Create("<redacted>"))] : [];
                return (view is null ? null : ConfigForms.Channel(view.Id, view.Type, view.Enabled, view.RedactedConfig),
                    ConfigForms.Channel(channel.Id, channel.Type, channel.Enabled, comparison.RedactedConfig), secrets);
            case ConfigKey.ScheduleKind:
                var withOverrides = !set.KeepsOverrides(key.Id);
                var schedule = await grains.GetGrain<IScheduleGrain>(key.Id).GetAsync();
                return (schedule is null ? null : ConfigForms.Schedule(schedule, withOverrides), ConfigForms.Schedule(set.Schedules[set.IndexOf(key)], withOverrides), []);
            default:
                return (await CurrentAsync(key, routing, withHeaders: true), Desired(set, key), []);
        }
    }

    private static JsonObject Desired(ConfigSet set, ConfigKey key) => key.Kind switch
    {
        ConfigKey.RuleKind => ConfigForms.Rule(set.Rules[set.IndexOf(key)]),
        ConfigKey.PolicyKind => ConfigForms.Policy(set.Policies[set.IndexOf(key)]),
        ConfigKey.UserKind => ConfigForms.User(set.Users[set.IndexOf(key)]),
        ConfigKey.HeartbeatKind => ConfigForms.Heartbeat(set.Heartbeats[set.IndexOf(key)]),
        ConfigKey.DiscoveryKind => ConfigForms.DiscoverySource(set.DiscoverySources[set.IndexOf(key)]),
        ConfigKey.SloKind => ConfigForms.Slo(set.Slos[set.IndexOf(key)]),
        ConfigKey.TimeIntervalKind => ConfigForms.TimeInterval(set.TimeIntervals[set.IndexOf(key)]),
        ConfigKey.InhibitionKind => ConfigForms.Inhibition(set.Inhibitions[set.IndexOf(key)]),
        _ => ConfigForms.Routing(set.Routing!),
    };

    private async Task<JsonObject?> CurrentAsync(ConfigKey key, RoutingSet routing, bool withHeaders)
    {
        switch (key.Kind)
        {
            case ConfigKey.ServerKind:
                return await grains.GetGrain<IMcpServerGrain>(key.Id).GetAsync() is { } server ? ConfigForms.Server(server, withHeaders) : null;
            case ConfigKey.RuleKind:
                return await grains.GetGrain<IAlertRuleGrain>(key.Id).GetAsync() is { } rule ? ConfigForms.Rule(rule) : null;
            case ConfigKey.PolicyKind:
                return await grains.GetGrain<IEscalationPolicyGrain>(key.Id).GetAsync() is { } policy ? ConfigForms.Policy(policy) : null;
            case ConfigKey.UserKind:
                return await grains.GetGrain<IUserGrain>(key.Id).GetAsync() is { } user ? ConfigForms.User(user) : null;
            case ConfigKey.SloKind:
                return await grains.GetGrain<Slo.ISloGrain>(key.Id).GetAsync() is { } objective ? ConfigForms.Slo(objective.Definition) : null;
            case ConfigKey.DiscoveryKind:
                return await grains.GetGrain<Discovery.IDiscoverySourceGrain>(key.Id).GetAsync() is { } discovery ? ConfigForms.DiscoverySource(discovery.Source) : null;
            case ConfigKey.HeartbeatKind:
                return await grains.GetGrain<Heartbeats.IHeartbeatGrain>(key.Id).GetAsync() is { } heartbeat ? ConfigForms.Heartbeat(heartbeat.Check) : null;
            case ConfigKey.ScheduleKind:
                // Exported without overrides: they are taken in the console, and a document that omits them keeps them.
                return await grains.GetGrain<IScheduleGrain>(key.Id).GetAsync() is { } schedule ? ConfigForms.Schedule(schedule, withOverrides: false) : null;
            case ConfigKey.ChannelKind:
                return await grains.GetGrain<INotificationChannelGrain>(key.Id).GetAsync() is { } c ? ConfigForms.Channel(c.Id, c.Type, c.Enabled, c.RedactedConfig) : null;
            case ConfigKey.TimeIntervalKind:
                return routing.TimeIntervals.FirstOrDefault(t => t.Name == key.Id) is { } t ? ConfigForms.TimeInterval(t) : null;
            case ConfigKey.InhibitionKind:
                return routing.Inhibitions.FirstOrDefault(i => i.Id == key.Id) is { } i ? ConfigForms.Inhibition(i) : null;
            default:
                return ConfigForms.Routing(new RoutingTree(routing.Root, routing.Receivers));
        }
    }

    /// <summary>Field by field; arrays of a different length change whole.</summary>
    public static void Diff(JsonNode? before, JsonNode? after, string path, List<FieldChange> changes)
    {
        if (JsonNode.DeepEquals(before, after)) return;
        switch (before, after)
        {
            case (JsonObject b, JsonObject a):
                foreach (var name in b.Select(p => p.Key).Union(a.Select(p => p.Key)).Order(StringComparer.Ordinal))
                {
                    Diff(b[name], a[name], path.Length == 0 ? name : $"{path}.{name}", changes);
                }
                return;
            case (JsonArray b, JsonArray a) when b.Count == a.Count:
                for (var i = 0; i < a.Count; i++) Diff(b[i], a[i], $"{path}[{i}]", changes);
                return;
            default:
                changes.Add(new FieldChange(path, Shown(before), Shown(after)));
                return;
        }
    }

    /// <summary>A value as a plan may show it: every secret's marker, at any depth, as "&lt;redacted&gt;".</summary>
    private static JsonNode? Shown(JsonNode? node) => node switch
    {
        _ when ConfigForms.IsMarker(node) => JsonValue.Create("<redacted>"),
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Shown(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Shown)]),
        _ => node?.DeepClone(),
    };
}
