using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.OnCall;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Servers;

namespace Monitoring.Configuration;

/// <summary>
/// Writes one resource of a document through the grain that owns it, exactly as its REST endpoint would: create when
/// absent, replace when present, delete. Every write is a "make it so", so writing again is harmless: an apply cut short
/// is carried on by writing it again.
/// </summary>
public sealed class ConfigWriter(IGrainFactory grains)
{
    private IRoutingGrain Routing => grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key);

    private async Task<RoutingSet> RoutingSetAsync() => await Routing.GetIfChangedAsync(-1) ?? RoutingSet.Empty;

    public async Task<WriteResult> WriteAsync(ConfigSet set, ConfigKey key)
    {
        switch (key.Kind)
        {
            case ConfigKey.ChannelKind:
                var channel = set.Channels[set.IndexOf(key)];
                var channelGrain = grains.GetGrain<INotificationChannelGrain>(key.Id);
                return await channelGrain.ExistsAsync() ? await channelGrain.UpdateAsync(channel) : await channelGrain.CreateAsync(channel);
            case ConfigKey.PolicyKind:
                var policy = set.Policies[set.IndexOf(key)];
                var policyGrain = grains.GetGrain<IEscalationPolicyGrain>(key.Id);
                return await policyGrain.GetAsync() is null ? await policyGrain.CreateAsync(policy) : await policyGrain.UpdateAsync(policy);
            case ConfigKey.UserKind:
                var user = set.Users[set.IndexOf(key)];
                var userGrain = grains.GetGrain<IUserGrain>(key.Id);
                return await userGrain.GetAsync() is null ? await userGrain.CreateAsync(user) : await userGrain.UpdateAsync(user);
            case ConfigKey.ScheduleKind:
                var schedule = set.Schedules[set.IndexOf(key)];
                var scheduleGrain = grains.GetGrain<IScheduleGrain>(key.Id);
                if (await scheduleGrain.GetAsync() is not { } stored) return await scheduleGrain.CreateAsync(schedule);
                return await scheduleGrain.UpdateAsync(set.KeepsOverrides(key.Id) ? schedule with { Overrides = stored.Overrides } : schedule);
            case ConfigKey.HeartbeatKind:
                // Made by a document, a check's ping URL is shown to nobody: POST /api/heartbeats/{id}/token makes one to use.
                var check = set.Heartbeats[set.IndexOf(key)];
                var heartbeat = grains.GetGrain<Heartbeats.IHeartbeatGrain>(key.Id);
                return await heartbeat.GetAsync() is null ? (await heartbeat.CreateAsync(check)).Result : await heartbeat.UpdateAsync(check);
            case ConfigKey.DiscoveryKind:
                var source = set.DiscoverySources[set.IndexOf(key)];
                var sourceGrain = grains.GetGrain<Discovery.IDiscoverySourceGrain>(key.Id);
                return await sourceGrain.GetAsync() is null ? await sourceGrain.CreateAsync(source) : await sourceGrain.UpdateAsync(source);
            case ConfigKey.SloKind:
                var slo = set.Slos[set.IndexOf(key)];
                var sloGrain = grains.GetGrain<Slo.ISloGrain>(key.Id);
                return await sloGrain.GetAsync() is null ? await sloGrain.CreateAsync(slo) : await sloGrain.UpdateAsync(slo);
            case ConfigKey.TimeIntervalKind:
                var interval = set.TimeIntervals[set.IndexOf(key)];
                return await Routing.PutTimeIntervalAsync(interval, create: !(await RoutingSetAsync()).TimeIntervals.Any(t => t.Name == key.Id));
            case ConfigKey.InhibitionKind:
                var inhibition = set.Inhibitions[set.IndexOf(key)];
                return await Routing.PutInhibitionAsync(inhibition, create: !(await RoutingSetAsync()).Inhibitions.Any(i => i.Id == key.Id));
            case ConfigKey.RoutingKind:
                return await Routing.SetTreeAsync(set.Routing!.Root, set.Routing.Receivers);
            case ConfigKey.ServerKind:
                var server = set.Servers[set.IndexOf(key)];
                var serverGrain = grains.GetGrain<IMcpServerGrain>(key.Id);
                var registered = await serverGrain.RegisterAsync(server);
                return registered.Outcome == WriteOutcome.Duplicate
                    ? await serverGrain.UpdateAsync(server, set.KeepsProbeHeaders(key.Id))
                    : registered;
            case ConfigKey.RuleKind:
                var rule = set.Rules[set.IndexOf(key)];
                var ruleGrain = grains.GetGrain<IAlertRuleGrain>(key.Id);
                return await ruleGrain.GetAsync() is null ? await ruleGrain.CreateAsync(rule) : await ruleGrain.UpdateAsync(rule);
            default:
                return WriteResult.Invalid("kind", $"'{key.Kind}' is not a kind of resource");
        }
    }

    /// <summary>New servers into their shards first, one write a shard, as the bulk endpoint does: each registration then finds itself listed.</summary>
    public Task ListServersAsync(string[] ids) =>
        Task.WhenAll(ids.GroupBy(ServerShards.Of).Select(shard => grains.GetGrain<IServerShardGrain>(shard.Key).AddManyAsync([.. shard])));

    /// <summary>Deletes the resource; one already gone counts as deleted.</summary>
    public async Task<WriteResult> DeleteAsync(ConfigKey key)
    {
        var result = key.Kind switch
        {
            ConfigKey.ChannelKind => await grains.GetGrain<INotificationChannelGrain>(key.Id).DeleteAsync(),
            ConfigKey.PolicyKind => await grains.GetGrain<IEscalationPolicyGrain>(key.Id).DeleteAsync(),
            ConfigKey.UserKind => await grains.GetGrain<IUserGrain>(key.Id).DeleteAsync(),
            ConfigKey.ScheduleKind => await grains.GetGrain<IScheduleGrain>(key.Id).DeleteAsync(),
            ConfigKey.HeartbeatKind => await grains.GetGrain<Heartbeats.IHeartbeatGrain>(key.Id).DeleteAsync(),
            ConfigKey.DiscoveryKind => await grains.GetGrain<Discovery.IDiscoverySourceGrain>(key.Id).DeleteAsync(),
            ConfigKey.SloKind => await grains.GetGrain<Slo.ISloGrain>(key.Id).DeleteAsync(),
            ConfigKey.TimeIntervalKind => await Routing.DeleteTimeIntervalAsync(key.Id),
            ConfigKey.InhibitionKind => await Routing.DeleteInhibitionAsync(key.Id),
            ConfigKey.RoutingKind => await Routing.SetTreeAsync(new Route(), []),
            ConfigKey.ServerKind => await grains.GetGrain<IMcpServerGrain>(key.Id).DeleteAsync() ? WriteResult.Ok : WriteResult.NotFound,
            ConfigKey.RuleKind => await grains.GetGrain<IAlertRuleGrain>(key.Id).DeleteAsync() ? WriteResult.Ok : WriteResult.NotFound,
            _ => WriteResult.Invalid("kind", $"'{key.Kind}' is not a kind of resource"),
        };
        return result.Outcome == WriteOutcome.NotFound ? WriteResult.Ok : result;
    }

    /// <summary>The resource as stored now, as a one-resource set to write back, or null when there is none.</summary>
    public async Task<ConfigSet?> ReadAsync(ConfigKey key)
    {
        var empty = new ConfigSet("", [], [], [], [], null, [], []);
        switch (key.Kind)
        {
            case ConfigKey.ChannelKind:
                // Secrets come back redacted; written back redacted, the channel keeps what it stores.
                return await grains.GetGrain<INotificationChannelGrain>(key.Id).GetAsync() is { } view
                    ? empty with { Channels = [new NotificationChannel(view.Id, view.Type, view.Enabled, view.RedactedConfig, view.CreatedAt, view.UpdatedAt)] }
                    : null;
            case ConfigKey.PolicyKind:
                return await grains.GetGrain<IEscalationPolicyGrain>(key.Id).GetAsync() is { } policy ? empty with { Policies = [policy] } : null;
            case ConfigKey.UserKind:
                return await grains.GetGrain<IUserGrain>(key.Id).GetAsync() is { } user ? empty with { Users = [user] } : null;
            case ConfigKey.ScheduleKind:
                return await grains.GetGrain<IScheduleGrain>(key.Id).GetAsync() is { } schedule ? empty with { Schedules = [schedule] } : null;
            case ConfigKey.DiscoveryKind:
                return await grains.GetGrain<Discovery.IDiscoverySourceGrain>(key.Id).GetAsync() is { } found ? empty with { DiscoverySources = [found.Source] } : null;
            case ConfigKey.SloKind:
                return await grains.GetGrain<Slo.ISloGrain>(key.Id).GetAsync() is { } objective ? empty with { Slos = [objective.Definition] } : null;
            case ConfigKey.HeartbeatKind:
                return await grains.GetGrain<Heartbeats.IHeartbeatGrain>(key.Id).GetAsync() is { } beat ? empty with { Heartbeats = [beat.Check] } : null;
            case ConfigKey.ServerKind:
                return await grains.GetGrain<IMcpServerGrain>(key.Id).GetAsync() is { } server ? empty with { Servers = [server], KeepProbeHeaders = [server.Id] } : null;
            case ConfigKey.RuleKind:
                return await grains.GetGrain<IAlertRuleGrain>(key.Id).GetAsync() is { } rule ? empty with { Rules = [rule] } : null;
            default:
                var routing = await RoutingSetAsync();
                return key.Kind switch
                {
                    ConfigKey.TimeIntervalKind => routing.TimeIntervals.FirstOrDefault(t => t.Name == key.Id) is { } t ? empty with { TimeIntervals = [t] } : null,
                    ConfigKey.InhibitionKind => routing.Inhibitions.FirstOrDefault(i => i.Id == key.Id) is { } i ? empty with { Inhibitions = [i] } : null,
                    _ => empty with { Routing = new RoutingTree(routing.Root, routing.Receivers) },
                };
        }
    }

    /// <summary>Whether a resource outside a document exists in the cluster (a reference may name it).</summary>
    public async Task<bool> ExistsAsync(ConfigKey key) => key.Kind switch
    {
        ConfigKey.ChannelKind => await grains.GetGrain<INotificationChannelGrain>(key.Id).ExistsAsync(),
        _ => await ReadAsync(key) is not null,
    };
}
