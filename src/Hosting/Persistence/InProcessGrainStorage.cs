using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// The embedded mode's grain state: kept in this process's memory, as Orleans' memory storage keeps it, but without its
/// storage grains. Orleans' provider sends every read and write as a message to one of a few storage grains, which
/// copies the serialized state again on the way; here a write serializes the state once (Orleans' own binary
/// serializer, so what is stored is a copy the grain can no longer change) and swaps it into a dictionary. Versions
/// work as in every other provider: a write whose version is not the stored one fails with
/// <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class InProcessGrainStorage(string name, Serializer serializer) : IGrainStorage
{
    private sealed record Stored(byte[] Payload, long Version);

    // Many lock stripes and room to start with: a storm adds ten thousand rows at once, from every thread.
    private readonly ConcurrentDictionary<(string State, GrainId Grain), Stored> _rows = new(concurrencyLevel: 64, capacity: 4096);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_rows.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.Payload);
            grainState.ETag = Tag(stored.Version);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var payload = serializer.SerializeToArray(grainState.State);
        Stored written;
        if (grainState.ETag is null)
        {
            written = new Stored(payload, 1);
            if (!_rows.TryAdd(key, written)) throw Changed(stateName, grainId, grainState.ETag);
        }
        else
        {
            if (!_rows.TryGetValue(key, out var known) || Tag(known.Version) != grainState.ETag) throw Changed(stateName, grainId, grainState.ETag);
            written = new Stored(payload, known.Version + 1);
            if (!_rows.TryUpdate(key, written, known)) throw Changed(stateName, grainId, grainState.ETag);
        }
        grainState.ETag = Tag(written.Version);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.ETag is not null)
        {
            var key = (stateName, grainId);
            if (!_rows.TryGetValue(key, out var known) || Tag(known.Version) != grainState.ETag
                || !_rows.TryRemove(new KeyValuePair<(string, GrainId), Stored>(key, known)))
            {
                throw Changed(stateName, grainId, grainState.ETag);
            }
        }
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Tag(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private InconsistentStateException Changed(string stateName, GrainId grainId, string? etag) =>
        new($"{name}: state '{stateName}' of {grainId} changed since it was read (version {etag ?? "none"})", etag ?? "none", etag ?? "none");
}
