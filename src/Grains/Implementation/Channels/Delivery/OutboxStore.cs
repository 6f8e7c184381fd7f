using System.Collections.Concurrent;

namespace Monitoring.Channels.Delivery;

/// <summary>One notification in a channel's outbox: recorded, then attempted until it is delivered, fails or ages out.</summary>
[GenerateSerializer, Alias("mcp.OutboxEntry")]
public sealed class OutboxEntry
{
    [Id(0), JsonPropertyName("Notification")] public Notification Notification { get; set; } = null!;
    [Id(1), JsonPropertyName("RecordedAt")] public DateTimeOffset RecordedAt { get; set; }
    [Id(2), JsonPropertyName("Attempts")] public int Attempts { get; set; }
    [Id(3), JsonPropertyName("UpdatedAt")] public DateTimeOffset UpdatedAt { get; set; }
    [Id(4), JsonPropertyName("LastError")] public string? LastError { get; set; }
    [Id(5), JsonPropertyName("Held")] public bool Held { get; set; }

    /// <summary>The activation that may send it (<see cref="OutboxClaims"/>): kept in the store's row only, never in a grain's state.</summary>
    [Id(6), JsonIgnore] public string? ClaimedBy { get; set; }

    /// <summary>Until when <see cref="ClaimedBy"/> holds it without renewing.</summary>
    [Id(7), JsonIgnore] public DateTimeOffset? ClaimedUntil { get; set; }

    [NonSerialized] private string? _key;
    [NonSerialized] private string? _thread;

    /// <summary>The notification's idempotency key, made once: a channel's pump asks for it for every entry it walks.</summary>
    [JsonIgnore] public string Key => _key ??= Notification.IdempotencyKey;

    /// <summary>The notification's thread key, made once.</summary>
    [JsonIgnore] public string Thread => _thread ??= Notification.ThreadKey;

    public DeliveryRecord Record(string channelId, DeliveryState? final = null, string? error = null) => new(
        Notification.IdempotencyKey, Notification.AlertId, channelId, Notification.Kind,
        final ?? (Held ? DeliveryState.Held : DeliveryState.Pending), Attempts, RecordedAt, UpdatedAt, error ?? LastError);
}

/// <summary>
/// The durable outbox of every channel, one row per notification and channel, keyed by its idempotency key. Recording
/// is the dedup stage: a key the store already holds (pending, or finished within the retention) is refused, so a
/// hand-off repeated after a silo dies never sends twice. Finished rows are the channel's delivery log. Production
/// keeps it in PostgreSQL, the embedded mode in memory.
/// </summary>
public interface IOutboxStore
{
    /// <summary>Records the entry unless its key is known; false for a duplicate.</summary>
    Task<bool> TryRecordAsync(string channelId, OutboxEntry entry);

    /// <summary>
    /// Claims a pending row for <paramref name="owner"/> until <paramref name="until"/>, if its claim is still the one
    /// the caller saw (<paramref name="seen"/>: owner and lease, nulls for none): false when another took or renewed it
    /// meanwhile, or it is finished.
    /// </summary>
    Task<bool> TryClaimAsync(string channelId, string key, (string? Owner, DateTimeOffset? Until) seen, string owner, DateTimeOffset until);

    /// <summary>Stores an entry's progress: attempts, last error, held.</summary>
    Task UpdateAsync(string channelId, OutboxEntry entry);

    /// <summary>Marks an entry finished (delivered, failed, disabled); its key stays known for dedup.</summary>
    Task FinishAsync(string channelId, DeliveryRecord record);

    /// <summary>What is not finished, oldest first: the outbox a new activation carries on with.</summary>
    Task<IReadOnlyList<OutboxEntry>> PendingAsync(string channelId);

    /// <summary>Whether anything of the channel is not finished, without reading it.</summary>
    Task<bool> AnyPendingAsync(string channelId);

    /// <summary>Finished deliveries, newest first.</summary>
    Task<IReadOnlyList<DeliveryRecord>> FinishedAsync(string channelId, int limit);

    /// <summary>Forgets finished rows older than the retention.</summary>
    Task PruneAsync(string channelId, DateTimeOffset olderThan);

    Task DeleteChannelAsync(string channelId);
}

/// <summary>The embedded mode's outbox: in memory, for the life of the process (like its grain state).</summary>
public sealed class InMemoryOutboxStore : IOutboxStore
{
    private const int MaxFinishedPerChannel = 10_000;
    private readonly ConcurrentDictionary<string, Rows> _channels = new(StringComparer.Ordinal);

    public Task<bool> TryRecordAsync(string channelId, OutboxEntry entry)
    {
        var rows = _channels.GetOrAdd(channelId, _ => new Rows());
        lock (rows)
        {
            var key = entry.Notification.IdempotencyKey;
            if (rows.Pending.ContainsKey(key) || rows.FinishedKeys.Contains(key)) return Task.FromResult(false);
            rows.Pending[key] = Copy(entry);
            return Task.FromResult(true);
        }
    }

    public Task<bool> TryClaimAsync(string channelId, string key, (string? Owner, DateTimeOffset? Until) seen, string owner, DateTimeOffset until)
    {
        if (!_channels.TryGetValue(channelId, out var rows)) return Task.FromResult(false);
        lock (rows)
        {
            if (!rows.Pending.TryGetValue(key, out var row) || row.ClaimedBy != seen.Owner || row.ClaimedUntil != seen.Until) return Task.FromResult(false);
            (row.ClaimedBy, row.ClaimedUntil) = (owner, until);
            return Task.FromResult(true);
        }
    }

    public Task UpdateAsync(string channelId, OutboxEntry entry)
    {
        if (_channels.TryGetValue(channelId, out var rows))
        {
            lock (rows)
            {
                if (rows.Pending.TryGetValue(entry.Notification.IdempotencyKey, out var row))
                {
                    (row.Attempts, row.UpdatedAt, row.LastError, row.Held) = (entry.Attempts, entry.UpdatedAt, entry.LastError, entry.Held);
                }
            }
        }
        return Task.CompletedTask;
    }

    public Task FinishAsync(string channelId, DeliveryRecord record)
    {
        var rows = _channels.GetOrAdd(channelId, _ => new Rows());
        lock (rows)
        {
            rows.Pending.Remove(record.IdempotencyKey);
            if (rows.FinishedKeys.Add(record.IdempotencyKey))
            {
                rows.Finished.AddFirst(record);
                while (rows.Finished.Count > MaxFinishedPerChannel)
                {
                    rows.FinishedKeys.Remove(rows.Finished.Last!.Value.IdempotencyKey);
                    rows.Finished.RemoveLast();
                }
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<OutboxEntry>> PendingAsync(string channelId)
    {
        if (!_channels.TryGetValue(channelId, out var rows)) return Task.FromResult<IReadOnlyList<OutboxEntry>>([]);
        lock (rows) return Task.FromResult<IReadOnlyList<OutboxEntry>>([.. rows.Pending.Values.OrderBy(e => e.RecordedAt).Select(Copy)]);
    }

    public Task<bool> AnyPendingAsync(string channelId)
    {
        if (!_channels.TryGetValue(channelId, out var rows)) return Task.FromResult(false);
        lock (rows) return Task.FromResult(rows.Pending.Count > 0);
    }

    public Task<IReadOnlyList<DeliveryRecord>> FinishedAsync(string channelId, int limit)
    {
        if (!_channels.TryGetValue(channelId, out var rows)) return Task.FromResult<IReadOnlyList<DeliveryRecord>>([]);
        lock (rows) return Task.FromResult<IReadOnlyList<DeliveryRecord>>([.. rows.Finished.Take(limit)]);
    }

    public Task PruneAsync(string channelId, DateTimeOffset olderThan)
    {
        if (_channels.TryGetValue(channelId, out var rows))
        {
            lock (rows)
            {
                while (rows.Finished.Last is { } last && last.Value.UpdatedAt < olderThan)
                {
                    rows.FinishedKeys.Remove(last.Value.IdempotencyKey);
                    rows.Finished.RemoveLast();
                }
            }
        }
        return Task.CompletedTask;
    }

    public Task DeleteChannelAsync(string channelId)
    {
        _channels.TryRemove(channelId, out _);
        return Task.CompletedTask;
    }

    private static OutboxEntry Copy(OutboxEntry e) => new()
    {
        Notification = e.Notification, RecordedAt = e.RecordedAt, Attempts = e.Attempts, UpdatedAt = e.UpdatedAt, LastError = e.LastError, Held = e.Held,
        ClaimedBy = e.ClaimedBy, ClaimedUntil = e.ClaimedUntil,
    };

    private sealed class Rows
    {
        public readonly Dictionary<string, OutboxEntry> Pending = new(StringComparer.Ordinal);
        public readonly LinkedList<DeliveryRecord> Finished = new();
        public readonly HashSet<string> FinishedKeys = new(StringComparer.Ordinal);
    }
}
