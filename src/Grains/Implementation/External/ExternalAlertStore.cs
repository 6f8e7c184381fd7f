using System.Collections.Concurrent;
using System.Text.Json;

namespace Monitoring.External;

/// <summary>
/// Where external alerts are kept: a row per alert, so a batch stores the alerts it changed, not its whole partition
/// (a partition's state grew with the storm, and rewriting it for every batch made a storm's cost grow with its square).
/// Production keeps them in PostgreSQL, the embedded mode in memory.
/// </summary>
public interface IExternalAlertStore
{
    /// <summary>Every alert stored for the partition.</summary>
    Task<IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>>> LoadAsync(int partition);

    /// <summary>
    /// Stores the changed alerts and forgets the removed ones. The records are read before the task is returned: the
    /// caller may change them as soon as the call returns.
    /// </summary>
    Task SaveAsync(int partition, IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>> changed, IReadOnlyList<string> removed);
}

/// <summary>The embedded mode's external alerts: in memory, for the life of the process (like its grain state).</summary>
public sealed class InMemoryExternalAlertStore : IExternalAlertStore
{
    private readonly ConcurrentDictionary<int, ConcurrentDictionary<string, byte[]>> _partitions = new();

    public Task<IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>>> LoadAsync(int partition) =>
        Task.FromResult<IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>>>(_partitions.TryGetValue(partition, out var rows)
            ? [.. rows.Select(r => KeyValuePair.Create(r.Key, JsonSerializer.Deserialize<ExternalAlertRecord>(r.Value)!))]
            : []);

    public Task SaveAsync(int partition, IReadOnlyList<KeyValuePair<string, ExternalAlertRecord>> changed, IReadOnlyList<string> removed)
    {
        var rows = _partitions.GetOrAdd(partition, _ => new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal));
        foreach (var (fingerprint, alert) in changed) rows[fingerprint] = JsonSerializer.SerializeToUtf8Bytes(alert);
        foreach (var fingerprint in removed) rows.TryRemove(fingerprint, out _);
        return Task.CompletedTask;
    }
}
