using System.Runtime.CompilerServices;

namespace Monitoring.Settings;

/// <summary>
/// References to the few grains called for every notification (the channels, their delivery workers, the incident
/// index), made once per grain factory (one per silo or client). Orleans resolves a grain interface's type by
/// reflection on every <c>GetGrain</c>: in an Alertmanager storm that was about 5% of the process's CPU.
/// </summary>
public sealed class GrainReferences
{
    /// <summary>Few keys are expected; past this many the cache starts again rather than grow.</summary>
    private const int MaxKept = 4096;

    private static readonly ConditionalWeakTable<IGrainFactory, GrainReferences> PerFactory = new();
    private readonly BoundedCache<(Type Interface, string Key), IAddressable> _references = new(MaxKept);
    private readonly IGrainFactory _grains;

    private GrainReferences(IGrainFactory grains) => _grains = grains;

    public static GrainReferences Of(IGrainFactory grains) => PerFactory.GetValue(grains, static g => new GrainReferences(g));

    public T Get<T>(string key) where T : IGrainWithStringKey
    {
        if (_references.TryGetValue((typeof(T), key), out var known)) return (T)known;
        return (T)_references.GetOrAdd((typeof(T), key), _grains.GetGrain<T>(key));
    }
}
