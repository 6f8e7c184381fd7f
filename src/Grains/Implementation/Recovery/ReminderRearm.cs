using Monitoring.Channels;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Servers;
using Monitoring.Settings;

namespace Monitoring.Recovery;

/// <summary>
/// What brings the fleet back lives in the reminder table (Redis): the server shards' reminders wake every server,
/// open incidents' reminders wake their escalations, and channels wake their pending deliveries. Restored from a
/// backup, or run without persistence, Redis may come back without them while PostgreSQL holds the fleet. So each
/// silo, once active, re-arms from what PostgreSQL says: every shard that lists servers, every open incident, and
/// every channel (whose activation wakes what it has pending). Where the reminders are there, this costs a read each.
/// </summary>
public sealed class ReminderRearm(IGrainFactory grains, IListingStore listings, StateDurability durability, SiloStopping stopping, ILogger<ReminderRearm> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>After the silo turns active: the cluster's other silos have a moment to join first.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopped = new();

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (durability.Volatile) return; // embedded: the process holds state and reminders alike and loses them together
        lifecycle.Subscribe(nameof(ReminderRearm), ServiceLifecycleStage.Active, started =>
        {
            _ = Task.Run(() => RunAsync(_stopped.Token));
            return Task.CompletedTask;
        }, async _ => await _stopped.CancelAsync());
    }

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(Delay, stop);
            var servers = await Task.WhenAll(Enumerable.Range(0, ServerShards.Count).Select(shard => grains.GetGrain<IServerShardGrain>(shard).RearmAsync()));
            // Each step starts only while the silo runs: a call placed as it shuts down fails in Orleans' own log.
            if (stop.IsCancellationRequested || stopping.IsStopping) return;
            var open = (await grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync()).Where(i => i.Status != IncidentStatus.Resolved).ToArray();
            foreach (var chunk in open.Chunk(64))
            {
                if (stopping.IsStopping || stop.IsCancellationRequested) return;
                await Task.WhenAll(chunk.Select(i => grains.GetGrain<IIncidentGrain>(i.Id).RearmAsync()));
            }
            var channels = 0;
            for (var offset = 0; !stopping.IsStopping && !stop.IsCancellationRequested; offset += 500)
            {
                var page = await listings.QueryAsync<ChannelEntry>(new ListingQuery(500, offset));
                await Task.WhenAll(page.Items.Select(c => grains.GetGrain<INotificationChannelGrain>(c.Channel.Id).ExistsAsync()));
                channels += page.Items.Length;
                if (page.Items.Length < 500) break;
            }
            logger.LogInformation("Reminders re-armed: {Shards} shards listing {Servers} servers, {Incidents} open incidents, {Channels} channels",
                servers.Count(n => n > 0), servers.Sum(), open.Length, channels);
        }
        catch (Exception) when (stop.IsCancellationRequested || stopping.IsStopping)
        {
            // The silo is stopping (a Ctrl-C right after start, a rollout): its calls fail as it goes; nothing to report.
            logger.LogDebug("Reminder re-arm cut short: the silo is stopping");
        }
        catch (Exception e)
        {
            // The reminders that exist still tick; a later silo start tries again.
            logger.LogWarning(e, "Reminders could not be re-armed from storage");
        }
    }
}
