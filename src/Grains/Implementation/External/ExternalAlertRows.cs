using Monitoring.Settings;

namespace Monitoring.External;

/// <summary>
/// A partition's alerts as its grain holds them, and what changed since the last write: a write stores exactly the
/// alerts changed and forgets those removed (<see cref="IExternalAlertStore"/>). Writes are grouped: calls that arrive
/// while one runs share the next, and none returns before a write that began after its changes.
/// </summary>
internal sealed class ExternalAlertRows(IExternalAlertStore store, int partition)
{
    private readonly HashSet<string> _unsaved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unsavedRemovals = new(StringComparer.Ordinal);
    private GroupCommit? _commits;

    public Dictionary<string, ExternalAlertRecord> Alerts { get; } = new(StringComparer.Ordinal);

    public async Task LoadAsync()
    {
        foreach (var (fingerprint, alert) in await store.LoadAsync(partition)) Alerts[fingerprint] = alert;
    }

    /// <summary>Takes an alert that was kept elsewhere, unless the store already has a newer one; answers whether it did.</summary>
    public bool Adopt(string fingerprint, ExternalAlertRecord alert)
    {
        if (!Alerts.TryAdd(fingerprint, alert)) return false;
        Changed(fingerprint);
        return true;
    }

    public void Changed(string fingerprint)
    {
        _unsaved.Add(fingerprint);
        _unsavedRemovals.Remove(fingerprint);
    }

    public void Remove(string fingerprint)
    {
        Alerts.Remove(fingerprint);
        _unsaved.Remove(fingerprint);
        _unsavedRemovals.Add(fingerprint);
    }

    /// <summary>Stores what changed, and returns once a write that began after this call's changes has finished.</summary>
    public Task CommitAsync() => (_commits ??= new GroupCommit(WriteAsync)).CommitAsync();

    private async Task WriteAsync()
    {
        if (_unsaved.Count == 0 && _unsavedRemovals.Count == 0) return;
        KeyValuePair<string, ExternalAlertRecord>[] changed = [.. _unsaved.Where(Alerts.ContainsKey).Select(f => KeyValuePair.Create(f, Alerts[f]))];
        string[] removed = [.. _unsavedRemovals];
        _unsaved.Clear();
        _unsavedRemovals.Clear();
        try
        {
            await store.SaveAsync(partition, changed, removed);
        }
        catch
        {
            // Not stored: the next write carries them, unless they changed the other way meanwhile.
            foreach (var (fingerprint, _) in changed) if (!_unsavedRemovals.Contains(fingerprint)) _unsaved.Add(fingerprint);
            foreach (var fingerprint in removed) if (!_unsaved.Contains(fingerprint)) _unsavedRemovals.Add(fingerprint);
            throw;
        }
    }
}
