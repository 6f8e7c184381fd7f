using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>For whatever names channels (rules, escalation policies): which of them do not exist.</summary>
public static class ChannelLookup
{
    public static async Task AddUnknownAsync(IGrainFactory grains, string[] channelIds, string field, List<FieldError> errors)
    {
        var exists = await Task.WhenAll(channelIds.Select(id => grains.GetGrain<INotificationChannelGrain>(id).ExistsAsync()));
        for (var i = 0; i < channelIds.Length; i++)
        {
            if (!exists[i])
            {
                errors.Add(new FieldError($"{field}[{i}]", $"unknown channel '{channelIds[i]}'"));
            }
        }
    }
}
