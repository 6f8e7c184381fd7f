using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Rules;

namespace Monitoring.Configuration;

/// <summary>
/// What an apply may not delete: a resource something outside the apply still uses (a rule's channel or policy, a
/// policy's channel or schedule, a person named by a schedule, a policy or kept overrides, the channel a person is
/// reached through). Each is refused at <c>prune</c>, so the apply is refused whole before anything is written.
/// </summary>
internal static class DeletesInUse
{
    /// <summary>A channel or policy to delete that a rule or policy outside this apply still uses stays, and refuses the apply.</summary>
    public static async Task<FieldError[]> CheckAsync(IGrainFactory grains, IListingStore listings, ConfigApply apply)
    {
        var set = apply.Desired;
        var changing = set.Rules.Select(r => r.Id).Concat(apply.Deletes.Where(k => k.Kind == ConfigKey.RuleKind).Select(k => k.Id)).ToHashSet(StringComparer.Ordinal);
        var changingPolicies = set.Policies.Select(p => p.Id).Concat(apply.Deletes.Where(k => k.Kind == ConfigKey.PolicyKind).Select(k => k.Id)).ToHashSet(StringComparer.Ordinal);
        var catalog = grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key);
        var errors = new List<FieldError>();
        foreach (var key in apply.Deletes)
        {
            var users = key.Kind switch
            {
                ConfigKey.ChannelKind => await catalog.RulesUsingChannelAsync(key.Id),
                ConfigKey.PolicyKind => await catalog.RulesUsingPolicyAsync(key.Id),
                _ => [],
            };
            var remaining = users.Where(u => !changing.Contains(u)).ToArray();
            if (remaining.Length > 0) errors.Add(new("prune", $"{key} is used by rules outside this document: {string.Join(", ", remaining)}"));
            if (key.Kind is ConfigKey.UserKind or ConfigKey.ScheduleKind)
            {
                // Named by a schedule or policy this apply neither declares nor deletes: the person's or schedule's grain would refuse part-way.
                var changingKeys = set.Keys.Concat(apply.Deletes).ToHashSet();
                var naming = key.Kind == ConfigKey.UserKind
                    ? await OnCall.OnCallUses.NamingUserAsync(listings, key.Id)
                    : [.. (await OnCall.OnCallUses.PoliciesUsingScheduleAsync(listings, key.Id)).Select(ConfigKey.Policy)];
                var outside = naming.Where(k => !changingKeys.Contains(k)).ToArray();
                if (outside.Length > 0) errors.Add(new("prune", $"{key} is named by {string.Join(", ", outside.Select(k => k.ToString()))} outside this document"));
                if (key.Kind == ConfigKey.UserKind && await KeptOverridesNamingAsync(listings, set, key.Id) is { Length: > 0 } kept)
                {
                    errors.Add(new("prune", $"{key} is named by overrides of {string.Join(", ", kept.Select(k => k.ToString()))}, kept because the document leaves that schedule's overrides out: remove those overrides, or declare the schedule's overrides"));
                }
            }
            if (key.Kind == ConfigKey.ChannelKind)
            {
                var (policies, _) = await listings.QueryAsync<PolicyEntry>([], int.MaxValue, 0);
                var using_ = policies.Where(p => !changingPolicies.Contains(p.Id) && p.Policy.AllChannels.Contains(key.Id)).Select(p => p.Id).ToArray();
                if (using_.Length > 0) errors.Add(new("prune", $"{key} is used by escalation policies outside this document: {string.Join(", ", using_)}"));
                var changingUsers = set.Users.Select(u => u.Id).Concat(apply.Deletes.Where(k => k.Kind == ConfigKey.UserKind).Select(k => k.Id)).ToHashSet(StringComparer.Ordinal);
                var people = (await Channels.ChannelUsers.PeopleReachedThroughAsync(listings, key.Id)).Where(u => !changingUsers.Contains(u)).ToArray();
                if (people.Length > 0) errors.Add(new("prune", $"{key} is how users outside this document are reached: {string.Join(", ", people)}"));
            }
        }
        return [.. errors];
    }

    /// <summary>The schedules the document declares without overrides whose stored overrides (kept by the apply) name the person.</summary>
    private static async Task<ConfigKey[]> KeptOverridesNamingAsync(IListingStore listings, ConfigSet set, string userId)
    {
        var kept = set.Schedules.Where(s => set.KeepsOverrides(s.Id)).Select(s => s.Id).ToArray();
        if (kept.Length == 0) return [];
        var stored = (await listings.QueryAsync<ScheduleEntry>(new ListingQuery(kept.Length, 0) { Ids = kept })).Items;
        return [.. stored.Where(e => e.Schedule.Overrides.Any(o => o.User == userId || o.Replaces == userId)).Select(e => ConfigKey.Schedule(e.Id))];
    }
}
