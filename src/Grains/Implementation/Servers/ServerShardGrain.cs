using Microsoft.Extensions.Options;
using Monitoring.Settings;

namespace Monitoring.Servers;

[GenerateSerializer, Alias("mcp.ServerShardState")]
public sealed class ServerShardState
{
    [Id(0), JsonPropertyName("Servers")] public HashSet<string> Servers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Keeps one shard of the fleet alive: on each reminder tick it calls every server it lists (at most 256 at a time),
/// which activates any whose silo died. A call that finds no registered server drops it from the list. Reentrant, so
/// a bulk registration's many additions share their writes: each addition answers once a write that includes it is
/// stored.
/// </summary>
[GrainType("servershard")]
[Reentrant]
public sealed class ServerShardGrain(
    [PersistentState("shard", StorageNames.Servers)] IPersistentState<ServerShardState> state,
    IOptions<MonitoringOptions> options,
    SiloStopping stopping,
    ILogger<ServerShardGrain> logger)
    : Grain, IServerShardGrain, IRemindable
{
    private const string KeepAliveReminder = "keep-alive";
    private const int InFlight = 256;
    private readonly HashSet<string> _addedSinceSweep = new(StringComparer.Ordinal);
    private GroupCommit? _commits;
    private GrainReminder? _reminder;
    private HashSet<string>? _working;

    /// <summary>The list as it changes; a write stores a copy, so a write in flight never sees a later change.</summary>
    private HashSet<string> Servers => _working ??= new HashSet<string>(state.State.Servers, StringComparer.Ordinal);

    public Task AddAsync(string serverId) => AddManyAsync([serverId]);

    public async Task AddManyAsync(string[] serverIds)
    {
        await EnsureReminderAsync();
        var added = false;
        foreach (var id in serverIds)
        {
            _addedSinceSweep.Add(id);
            added |= Servers.Add(id);
        }
        if (added) await PersistAsync();
    }

    public async Task RemoveAsync(string serverId)
    {
        _addedSinceSweep.Remove(serverId);
        if (Servers.Remove(serverId)) await PersistAsync();
    }

    public Task<string[]> GetServersAsync() => Task.FromResult(Servers.Order(StringComparer.Ordinal).ToArray());

    public async Task<int> RearmAsync()
    {
        if (Servers.Count == 0) return 0;
        await Reminder.EnsureAsync(true);
        return Servers.Count;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        if (status.Period != options.Value.ReminderPeriod)
        {
            Reminder.Registered = false; // registered with another period: registering again changes it
            await EnsureReminderAsync();
        }
        if (stopping.IsStopping) return;
        // An id added since the last tick is not dropped at this one: whoever registers adds it here first and then
        // stores the server, so it may answer "not registered" for a moment (the next tick decides).
        var recent = _addedSinceSweep.ToHashSet(StringComparer.Ordinal);
        _addedSinceSweep.Clear();
        var servers = Servers.ToArray();
        var gone = new List<string>();
        foreach (var chunk in servers.Chunk(InFlight))
        {
            var answers = await Task.WhenAll(chunk.Select(WakeAsync));
            gone.AddRange(chunk.Where((_, i) => !answers[i]));
        }
        // A server registered again while the sweep ran stays.
        var removed = gone.Count(id => !recent.Contains(id) && !_addedSinceSweep.Contains(id) && Servers.Remove(id));
        if (removed > 0)
        {
            logger.LogInformation("Server shard {Shard}: {Count} servers no longer registered were dropped", this.GetPrimaryKeyLong(), removed);
            await PersistAsync();
        }
    }

    /// <summary>Answers false only when the server says it is not registered; a call that fails keeps it listed.</summary>
    private async Task<bool> WakeAsync(string serverId)
    {
        try
        {
            return await GrainFactory.GetGrain<IMcpServerGrain>(serverId).KeepAliveAsync();
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Server shard {Shard} could not reach server {ServerId}; the next tick tries again", this.GetPrimaryKeyLong(), serverId);
            return true;
        }
    }

    /// <summary>Group commit (<see cref="GroupCommit"/>): each write stores a copy, so a write in flight never sees a later change.</summary>
    private Task PersistAsync() => (_commits ??= new GroupCommit(() =>
    {
        state.State = new ServerShardState { Servers = new HashSet<string>(Servers, StringComparer.Ordinal) };
        return state.WriteStateAsync();
    })).CommitAsync();

    /// <summary>
    /// The shard's reminder, registered with its first addition after each activation (a reminder tick also proves it).
    /// Registering never holds an addition up (<see cref="GrainReminder"/>): the list is stored.
    /// </summary>
    private Task EnsureReminderAsync() => Reminder.SyncAsync(true);

    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, KeepAliveReminder, options.Value.ReminderPeriod, logger);
}
