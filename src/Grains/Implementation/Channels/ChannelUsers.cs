using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Rules;

namespace Monitoring.Channels;

/// <summary>Who uses a channel, so it is not deleted from under them; and the message a channel test sends.</summary>
public static class ChannelUsers
{
    /// <summary>Why the channel may not be deleted (rules or escalation policies name it), or null when it may.</summary>
    public static async Task<WriteResult?> RefusalToDeleteAsync(IGrainFactory grains, IListingStore listings, string channelId)
    {
        var rules = await grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).RulesUsingChannelAsync(channelId);
        if (rules.Length > 0)
        {
            return WriteResult.Conflict($"channel '{channelId}' is used by rules: {string.Join(", ", rules)}; change those rules first");
        }
        var (policies, _) = await listings.QueryAsync<PolicyEntry>([], int.MaxValue, 0);
        var using_ = policies.Where(e => e.Policy.AllChannels.Contains(channelId)).Select(e => e.Id).ToArray();
        if (using_.Length > 0) return WriteResult.Conflict($"channel '{channelId}' is used by escalation policies: {string.Join(", ", using_)}; change those first");
        var people = await PeopleReachedThroughAsync(listings, channelId);
        return people.Length > 0
            ? WriteResult.Conflict($"channel '{channelId}' is how users reach {string.Join(", ", people)}: change their contact methods first")
            : null;
    }

    /// <summary>The people with a contact method through the channel.</summary>
    public static async Task<string[]> PeopleReachedThroughAsync(IListingStore listings, string channelId) =>
        [.. (await listings.QueryAsync<UserEntry>([], int.MaxValue, 0)).Items.Where(u => u.User.ContactMethods.Any(m => m.Channel == channelId)).Select(u => u.Id)];

    public static Notification TestMessage(string channelId, DateTimeOffset now) => new(
        $"test-{Guid.NewGuid():N}", "test", "Test message", "test", "Test server", Severity.Info, NotificationKind.Test, "test",
        $"A test message for channel '{channelId}' from MCP Alerting. If you can read this, the channel works.", 0, now, now,
        [], new() { ["channel"] = channelId }, "test", 0);
}
