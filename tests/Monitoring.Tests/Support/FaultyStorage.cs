using Orleans.Storage;

namespace Monitoring.Tests.Support;

/// <summary>
/// The servers' real in-process storage, with one fault a test can ask for: the next write of a given grain's state
/// fails as a database outage would (not a version conflict, which makes Orleans put the activation away).
/// </summary>
public sealed class FaultyStorage(IGrainStorage inner) : IGrainStorage
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(GrainId, string), bool> _failNext = new();

    public void FailNextWrite(GrainId grainId, string stateName) => _failNext[(grainId, stateName)] = true;

    /// <summary>Whether the failure asked for has happened.</summary>
    public bool Failed(GrainId grainId, string stateName) => !_failNext.ContainsKey((grainId, stateName));

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        _failNext.TryRemove((grainId, stateName), out _)
            ? Task.FromException(new IOException($"the database is out of reach (injected for {grainId})"))
            : inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
