using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Listings;

namespace Monitoring.OnCall;

/// <summary>That the people a write names exist (asks each person's grain).</summary>
public static class UserLookup
{
    public static async Task AddUnknownAsync(IGrainFactory grains, IEnumerable<(string Field, string Id)> users, List<FieldError> errors)
    {
        var named = users.ToArray();
        var found = await Task.WhenAll(named.Select(u => grains.GetGrain<IUserGrain>(u.Id).GetAsync()));
        for (var i = 0; i < named.Length; i++)
        {
            if (found[i] is null) errors.Add(new FieldError(named[i].Field, $"unknown user '{named[i].Id}'"));
        }
    }

}

/// <summary>
/// That the schedules a write names exist, from the listings (where each schedule's grain writes it): a schedule raises
/// alerts of its own, so the policy grains that alerts read must not call schedules back.
/// </summary>
public static class ScheduleLookup
{
    public static async Task AddUnknownAsync(IListingStore listings, IEnumerable<(string Field, string Id)> schedules, List<FieldError> errors)
    {
        var named = schedules.ToArray();
        if (named.Length == 0) return;
        var ids = named.Select(n => n.Id).Distinct().ToArray();
        var found = (await listings.QueryAsync<ScheduleEntry>(new ListingQuery(ids.Length, 0) { Ids = ids })).Items.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (field, id) in named)
        {
            if (!found.Contains(id)) errors.Add(new FieldError(field, $"unknown schedule '{id}'"));
        }
    }
}

/// <summary>Who names a person or a schedule, from the listings alone (no grain is asked, so no grain calls back).</summary>
public static class OnCallUses
{
    private const int All = 100_000;

    /// <summary>The schedules and policies that name a person, as "schedule x", "escalation policy y".</summary>
    public static async Task<string[]> UsersOfAsync(IListingStore listings, string userId) =>
        [.. (await NamingUserAsync(listings, userId)).Select(k => $"{Configuration.ConfigChecks.Describe(k.Kind)} {k.Id}")];

    /// <summary>The schedules and policies that name a person.</summary>
    public static async Task<Configuration.ConfigKey[]> NamingUserAsync(IListingStore listings, string userId)
    {
        var schedules = (await listings.QueryAsync<ScheduleEntry>([], All, 0)).Items
            .Where(s => s.Schedule.Layers.Any(l => l.Users.Contains(userId)) || s.Schedule.Overrides.Any(o => o.User == userId || o.Replaces == userId))
            .Select(s => Configuration.ConfigKey.Schedule(s.Id));
        var policies = (await listings.QueryAsync<PolicyEntry>([], All, 0)).Items
            .Where(p => p.Policy.Levels.Any(l => l.Users.Contains(userId)))
            .Select(p => Configuration.ConfigKey.Policy(p.Id));
        return [.. schedules, .. policies];
    }

    public static async Task<string[]> PoliciesUsingScheduleAsync(IListingStore listings, string scheduleId) =>
        [.. (await listings.QueryAsync<PolicyEntry>([], All, 0)).Items.Where(p => p.Policy.Levels.Any(l => l.Schedules.Contains(scheduleId))).Select(p => p.Id)];

}

/// <summary>Each contact method's channel exists and is of its kind (email through an email channel, and so on).</summary>
public static class ContactChannels
{
    /// <summary>"'x' is a webhook channel; an email contact needs an email channel".</summary>
    public static string Mismatch(string channelId, string channelType, ContactType wanted)
    {
        static string A(string word) => "aeio".Contains(word[0]) ? $"an {word}" : $"a {word}";
        var kind = wanted.ToString().ToLowerInvariant();
        return $"'{channelId}' is {A(channelType)} channel; {A(kind)} contact needs {A(kind)} channel";
    }

    public static async Task AddBadAsync(IGrainFactory grains, ContactMethod[] methods, List<FieldError> errors)
    {
        var views = await Task.WhenAll(methods.Select(m => grains.GetGrain<INotificationChannelGrain>(m.Channel).GetAsync()));
        for (var i = 0; i < methods.Length; i++)
        {
            var wanted = methods[i].Type.ToString().ToLowerInvariant();
            if (views[i] is not { } view) errors.Add(new FieldError($"contactMethods[{i}].channel", $"unknown channel '{methods[i].Channel}'"));
            else if (view.Type != wanted) errors.Add(new FieldError($"contactMethods[{i}].channel", Mismatch(view.Id, view.Type, methods[i].Type)));
            else if (methods[i].Type == ContactType.Slack && System.Text.Json.Nodes.JsonNode.Parse(view.RedactedConfig)?["token"] is null)
            {
                // An incoming webhook posts to its own channel: it cannot send a person a direct message.
                errors.Add(new FieldError($"contactMethods[{i}].channel", $"'{view.Id}' is a Slack incoming webhook; a person's Slack contact needs a bot-token channel, which can message them directly"));
            }
        }
    }
}
