using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Rules.Conditions;

namespace Monitoring.Configuration;

/// <summary>One resource a document refers to, and where: a rule's channel, a receiver's policy, a route's time interval.</summary>
public sealed record ConfigReference(ConfigKey Key, string Field);

/// <summary>
/// The checks a document passes before anything of it is stored, each error at its place in the document
/// ("rules[3].condition"). They need no cluster, so the command line runs the very same checks offline; the cluster adds
/// only what it alone knows (what exists outside the document, who owns it, the outbound policy).
/// </summary>
public sealed class ConfigChecks(ChannelSenders senders)
{
    /// <summary>Every problem with the values and the references within the document; <paramref name="outside"/> answers for the rest.</summary>
    public FieldError[] Check(ConfigSet set, Func<ConfigKey, bool> outside)
    {
        var errors = new List<FieldError>();
        Unique(set.Servers.Select(s => s.Id), "servers", errors);
        Unique(set.Rules.Select(r => r.Id), "rules", errors);
        Unique(set.Channels.Select(c => c.Id), "channels", errors);
        Unique(set.Policies.Select(p => p.Id), "escalationPolicies", errors);
        Unique(set.TimeIntervals.Select(t => t.Name), "timeIntervals", errors, "name");
        Unique(set.Inhibitions.Select(i => i.Id), "inhibitions", errors);
        Unique(set.Users.Select(u => u.Id), "users", errors);
        Unique(set.Schedules.Select(s => s.Id), "schedules", errors);
        Unique(set.Heartbeats.Select(h => h.Id), "heartbeats", errors);
        Unique(set.DiscoverySources.Select(d => d.Id), "discoverySources", errors);
        Unique(set.Slos.Select(s => s.Id), "slos", errors);
        for (var i = 0; i < set.Slos.Length; i++)
        {
            errors.AddRange(Slo.SloRules.Check(set.Slos[i]).Select(e => e with { Field = $"slos[{i}].{e.Field}" }));
        }
        for (var i = 0; i < set.Heartbeats.Length; i++)
        {
            errors.AddRange(Heartbeats.HeartbeatClock.Check(set.Heartbeats[i]).Select(e => e with { Field = $"heartbeats[{i}].{e.Field}" }));
        }
        for (var i = 0; i < set.Users.Length; i++)
        {
            if (NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(set.Users[i].TimeZone) is null) errors.Add(new($"users[{i}].timeZone", $"'{set.Users[i].TimeZone}' is not a time zone of the IANA database (for example Europe/Berlin)"));
        }
        for (var i = 0; i < set.Schedules.Length; i++)
        {
            errors.AddRange(OnCall.Rotation.Check(set.Schedules[i]).Select(e => e with { Field = $"schedules[{i}].{e.Field}" }));
        }
        for (var i = 0; i < set.Rules.Length; i++)
        {
            var rule = set.Rules[i];
            if (!ConditionParser.TryParse(rule.Condition, out _, out var error)) errors.Add(new($"rules[{i}].condition", error!.Message));
            if (Channels.Templates.MessageRenderer.Check(rule.Templates.Subject) is { } subject) errors.Add(new($"rules[{i}].subjectTemplate", subject));
            if (Channels.Templates.MessageRenderer.Check(rule.Templates.Body) is { } body) errors.Add(new($"rules[{i}].bodyTemplate", body));
        }
        for (var i = 0; i < set.Channels.Length; i++)
        {
            errors.AddRange(senders.Validate(set.Channels[i]).Select(e => e with { Field = $"channels[{i}].{e.Field}" }));
        }
        var declaredChannels = set.Channels.DistinctBy(c => c.Id).ToDictionary(c => c.Id, StringComparer.Ordinal);
        for (var u = 0; u < set.Users.Length; u++)
        {
            var methods = set.Users[u].ContactMethods;
            for (var m = 0; m < methods.Length; m++)
            {
                var wanted = methods[m].Type.ToString().ToLowerInvariant();
                if (declaredChannels.GetValueOrDefault(methods[m].Channel) is { } channel && !string.Equals(channel.Type, wanted, StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(new($"users[{u}].contactMethods[{m}].channel", OnCall.ContactChannels.Mismatch(channel.Id, channel.Type, methods[m].Type)));
                }
            }
        }
        var declared = set.Keys.ToHashSet();
        foreach (var reference in References(set))
        {
            if (!declared.Contains(reference.Key) && !outside(reference.Key))
            {
                errors.Add(new(reference.Field, $"'{reference.Key.Id}' is not {Article(reference.Key.Kind)} in this document or in the cluster"));
            }
        }
        return [.. errors];
    }

    /// <summary>Every reference the document makes, with its field.</summary>
    public static IEnumerable<ConfigReference> References(ConfigSet set)
    {
        for (var i = 0; i < set.Rules.Length; i++)
        {
            var rule = set.Rules[i];
            for (var c = 0; c < rule.Channels.Length; c++) yield return new(ConfigKey.Channel(rule.Channels[c]), $"rules[{i}].channels[{c}]");
            for (var c = 0; c < rule.EscalationChannels.Length; c++) yield return new(ConfigKey.Channel(rule.EscalationChannels[c]), $"rules[{i}].escalationChannels[{c}]");
            if (rule.EscalationPolicy is { } policy) yield return new(ConfigKey.Policy(policy), $"rules[{i}].escalationPolicy");
        }
        for (var p = 0; p < set.Policies.Length; p++)
        {
            for (var l = 0; l < set.Policies[p].Levels.Length; l++)
            {
                var level = set.Policies[p].Levels[l];
                var at = $"escalationPolicies[{p}].levels[{l}]";
                for (var c = 0; c < level.Channels.Length; c++) yield return new(ConfigKey.Channel(level.Channels[c]), $"{at}.channels[{c}]");
                for (var u = 0; u < level.Users.Length; u++) yield return new(ConfigKey.User(level.Users[u]), $"{at}.users[{u}]");
                for (var s = 0; s < level.Schedules.Length; s++) yield return new(ConfigKey.Schedule(level.Schedules[s]), $"{at}.schedules[{s}]");
            }
        }
        for (var u = 0; u < set.Users.Length; u++)
        {
            var methods = set.Users[u].ContactMethods;
            for (var m = 0; m < methods.Length; m++) yield return new(ConfigKey.Channel(methods[m].Channel), $"users[{u}].contactMethods[{m}].channel");
        }
        for (var s = 0; s < set.Schedules.Length; s++)
        {
            var schedule = set.Schedules[s];
            for (var l = 0; l < schedule.Layers.Length; l++)
            {
                for (var u = 0; u < schedule.Layers[l].Users.Length; u++) yield return new(ConfigKey.User(schedule.Layers[l].Users[u]), $"schedules[{s}].layers[{l}].users[{u}]");
            }
            for (var o = 0; o < schedule.Overrides.Length; o++)
            {
                yield return new(ConfigKey.User(schedule.Overrides[o].User), $"schedules[{s}].overrides[{o}].user");
                if (schedule.Overrides[o].Replaces is { } replaced) yield return new(ConfigKey.User(replaced), $"schedules[{s}].overrides[{o}].replaces");
            }
        }
        if (set.Routing is not { } routing) yield break;
        for (var r = 0; r < routing.Receivers.Length; r++)
        {
            var receiver = routing.Receivers[r];
            for (var c = 0; c < receiver.Channels.Length; c++) yield return new(ConfigKey.Channel(receiver.Channels[c]), $"routing.receivers[{r}].channels[{c}]");
            if (receiver.EscalationPolicy is { } policy) yield return new(ConfigKey.Policy(policy), $"routing.receivers[{r}].escalationPolicy");
        }
        foreach (var (path, route) in RouteTree.All(routing.Root))
        {
            var field = "routing." + RouteTree.Field(path);
            for (var t = 0; t < route.MuteTimeIntervals.Length; t++) yield return new(ConfigKey.TimeInterval(route.MuteTimeIntervals[t]), $"{field}muteTimeIntervals[{t}]");
            for (var t = 0; t < route.ActiveTimeIntervals.Length; t++) yield return new(ConfigKey.TimeInterval(route.ActiveTimeIntervals[t]), $"{field}activeTimeIntervals[{t}]");
        }
    }

    /// <summary>Where a declared resource sits in the document: "servers[3]", "routing".</summary>
    public static string PathOf(ConfigSet set, ConfigKey key) => key.Kind switch
    {
        ConfigKey.ServerKind => $"servers[{set.IndexOf(key)}]",
        ConfigKey.RuleKind => $"rules[{set.IndexOf(key)}]",
        ConfigKey.ChannelKind => $"channels[{set.IndexOf(key)}]",
        ConfigKey.PolicyKind => $"escalationPolicies[{set.IndexOf(key)}]",
        ConfigKey.TimeIntervalKind => $"timeIntervals[{set.IndexOf(key)}]",
        ConfigKey.InhibitionKind => $"inhibitions[{set.IndexOf(key)}]",
        ConfigKey.UserKind => $"users[{set.IndexOf(key)}]",
        ConfigKey.ScheduleKind => $"schedules[{set.IndexOf(key)}]",
        ConfigKey.HeartbeatKind => $"heartbeats[{set.IndexOf(key)}]",
        ConfigKey.DiscoveryKind => $"discoverySources[{set.IndexOf(key)}]",
        ConfigKey.SloKind => $"slos[{set.IndexOf(key)}]",
        _ => "routing",
    };

    public static string Describe(string kind) => kind switch
    {
        ConfigKey.PolicyKind => "escalation policy",
        ConfigKey.TimeIntervalKind => "time interval",
        ConfigKey.RoutingKind => "routing tree",
        ConfigKey.DiscoveryKind => "discovery source",
        ConfigKey.SloKind => "SLO",
        _ => kind,
    };

    /// <summary>"a channel", "an escalation policy".</summary>
    public static string Article(string kind) => Describe(kind) is var name && "aeio".Contains(name[0]) ? $"an {name}" : $"a {name}";

    private static void Unique(IEnumerable<string> ids, string list, List<FieldError> errors, string field = "id")
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var id in ids)
        {
            if (!seen.Add(id)) errors.Add(new($"{list}[{i}].{field}", $"'{id}' is declared twice"));
            i++;
        }
    }
}
