using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Listings;

namespace Monitoring.OnCall;

/// <summary>One way a person is paged: who, why (the schedule that put them on call, if one did), how, and how long after the page.</summary>
public sealed record PersonContact(string User, string? Schedule, ContactMethod Method, TimeSpan After);

/// <summary>
/// Escalation's reach to people, for incidents and rules alike: a step's users, and whoever its schedules have on call
/// at that moment, each through their own notification rules. What it cannot reach (a schedule with nobody on call,
/// a person without contact methods) it says, so the timeline shows it; it never fails the step.
/// </summary>
public static class PeoplePager
{
    /// <remarks>
    /// People and schedules are read from the listings, where their grains write them with every change, not asked of
    /// their grains: a schedule raises alerts of its own (its gaps), so an alert asking it back would be a loop.
    /// </remarks>
    public static async Task<(PersonContact[] Contacts, string[] Notes)> ResolveAsync(IListingStore listings, string[] users, string[] schedules, DateTimeOffset now)
    {
        var notes = new List<string>();
        var people = new List<(string User, string? Schedule)>();
        var known = schedules.Length == 0 ? [] : (await listings.QueryAsync<ScheduleEntry>(new ListingQuery(schedules.Length, 0) { Ids = schedules })).Items
            .ToDictionary(e => e.Id, e => e.Schedule, StringComparer.Ordinal);
        foreach (var id in schedules)
        {
            if (!known.TryGetValue(id, out var schedule))
            {
                notes.Add($"schedule {id} no longer exists");
                continue;
            }
            var (onCall, _) = Rotation.OnCallAt(schedule, now);
            if (onCall.Length == 0) notes.Add($"schedule {id} has nobody on call");
            people.AddRange(onCall.Select(u => (u, (string?)id)));
        }
        people.AddRange(users.Select(u => (u, (string?)null)));
        var distinct = people.DistinctBy(p => p.User).ToArray();
        var ids = distinct.Select(p => p.User).ToArray();
        var found = ids.Length == 0 ? [] : (await listings.QueryAsync<UserEntry>(new ListingQuery(ids.Length, 0) { Ids = ids })).Items
            .ToDictionary(e => e.Id, e => e.User, StringComparer.Ordinal);
        var contacts = new List<PersonContact>();
        foreach (var (userId, schedule) in distinct)
        {
            if (!found.TryGetValue(userId, out var user))
            {
                notes.Add($"user {userId} no longer exists");
                continue;
            }
            var reached = user.RulesInForce
                .Select(rule => user.ContactMethods.FirstOrDefault(m => m.Id == rule.ContactMethod) is { } method ? new PersonContact(userId, schedule, method, rule.After) : null)
                .OfType<PersonContact>().ToArray();
            if (reached.Length == 0) notes.Add($"{userId} has no contact methods");
            contacts.AddRange(reached);
        }
        return ([.. contacts], [.. notes]);
    }

    /// <summary>The message as one person's page: addressed to them, held until their rule's delay.</summary>
    public static Notification For(Notification message, PersonContact contact, DateTimeOffset now) => message with
    {
        Recipient = new NotificationRecipient(contact.User, contact.Method.Id, contact.Method.Type == ContactType.Webhook ? null : contact.Method.Address, contact.Schedule),
        NotBefore = contact.After > TimeSpan.Zero ? now + contact.After : null,
    };

    /// <summary>"ann (schedule primary) by email at once, by slack after 5m; ben by webhook at once", for the timeline.</summary>
    public static string Describe(IEnumerable<PersonContact> contacts) => string.Join("; ", contacts.GroupBy(c => c.User).Select(g =>
        $"{g.Key}{(g.First().Schedule is { } s ? $" (schedule {s})" : "")} " +
        string.Join(", ", g.Select(c => $"by {c.Method.Id} {(c.After > TimeSpan.Zero ? $"after {Durations.Format(c.After)}" : "at once")}"))));
}
