using System.Collections.Concurrent;

namespace Monitoring.Tests.Support;

/// <summary>An incoming grain-call filter that makes chosen grains throw, to drill what the product does when one of them breaks.</summary>
public sealed class FaultInjection : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, bool> _failing = new(StringComparer.Ordinal);

    public int Refused;

    public void Fail(string grainKey) => _failing[grainKey] = true;

    public void Heal(string grainKey) => _failing.TryRemove(grainKey, out _);

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.TargetId.Key.ToString() is { } key && _failing.ContainsKey(key))
        {
            Interlocked.Increment(ref Refused);
            throw new InvalidOperationException($"fault injected into {context.TargetId}");
        }
        return context.Invoke();
    }
}
