using System.Collections.Concurrent;

namespace Monitoring.Tests.Support;

/// <summary>
/// An incoming grain-call filter that makes chosen grains throw, to drill what the product does when one of them
/// breaks, or holds calls to a chosen method until released, to catch a grain in the middle of something.
/// </summary>
public sealed class FaultInjection : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, bool> _failing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new(StringComparer.Ordinal);

    public int Refused;

    /// <summary>Calls waiting at a hold.</summary>
    public int Waiting;

    /// <summary>Calls to the grains of this key throw: a channel's key also covers its delivery workers ("key/shard").</summary>
    public void Fail(string grainKey) => _failing[grainKey] = true;

    public void Heal(string grainKey) => _failing.TryRemove(grainKey, out _);

    /// <summary>Holds calls to "Interface.Method" until <see cref="Release"/>.</summary>
    public void Hold(string method) => _held[method] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release(string method)
    {
        if (_held.TryRemove(method, out var gate)) gate.TrySetResult();
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.TargetId.Key.ToString() is { } key && (_failing.ContainsKey(key) || key.LastIndexOf('/') is > 0 and var slash && _failing.ContainsKey(key[..slash])))
        {
            Interlocked.Increment(ref Refused);
            throw new InvalidOperationException($"fault injected into {context.TargetId}");
        }
        if (_held.TryGetValue($"{context.InterfaceMethod?.DeclaringType?.Name}.{context.InterfaceMethod?.Name}", out var gate))
        {
            Interlocked.Increment(ref Waiting);
            try
            {
                await gate.Task;
            }
            finally
            {
                Interlocked.Decrement(ref Waiting);
            }
        }
        await context.Invoke();
    }
}
