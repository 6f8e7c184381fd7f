namespace Monitoring.Channels.Delivery;

/// <summary>
/// Which of a worker's queued messages go now: the oldest first, one message of a thread at a time (a resolution
/// never overtakes its firing message, and a reply finds the thread of the message before it), at most
/// <c>maxInFlight</c> on their way, none before its <see cref="Notification.NotBefore"/>, and none past a rate limit: from the first one a limit stops, every later one is
/// held, in order, until the gate's wait. A disabled channel finishes what it walks as disabled. Pure bookkeeping,
/// tested without a grain: the worker sends what it answers, and says <see cref="Done"/> when a send ends.
/// </summary>
public sealed class DeliveryPump
{
    private readonly HashSet<string> _sending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _busyThreads = new(StringComparer.Ordinal);
    private readonly HashSet<string> _walked = new(StringComparer.Ordinal);

    /// <summary>What one walk decided. <see cref="Wait"/>: when to walk again for the held ones.</summary>
    public sealed record Decision(List<OutboxEntry> Start, List<OutboxEntry> Disabled, List<OutboxEntry> NewlyHeld, string? LimitedBy, TimeSpan? Wait);

    public int InFlight => _sending.Count;

    public bool IsSending(OutboxEntry entry) => _sending.Contains(entry.Key);

    public Decision Walk(IEnumerable<OutboxEntry> queue, int maxInFlight, bool enabled, RateGate gate, DateTimeOffset now)
    {
        var decision = new Decision([], [], [], null, null);
        string? limitedBy = null;
        TimeSpan? wait = null;
        _walked.Clear();
        foreach (var thread in _busyThreads.Keys) _walked.Add(thread);
        foreach (var entry in queue)
        {
            if (_sending.Contains(entry.Key) || !_walked.Add(entry.Thread))
            {
                continue; // on its way, or its thread has an older message waiting or on its way
            }
            if (entry.Notification.NotBefore is { } notBefore && notBefore > now)
            {
                // A person's later page: it keeps its thread's place and goes when due.
                wait = wait is { } w && w < notBefore - now ? w : notBefore - now;
                continue;
            }
            if (limitedBy is null && _sending.Count >= maxInFlight)
            {
                break; // the rest wait (pending, not held): a finished send walks again
            }
            if (!enabled)
            {
                decision.Disabled.Add(entry);
                continue;
            }
            if (limitedBy is null && !gate.TryPass(now, out var gateWait, out var limit))
            {
                limitedBy = limit;
                wait = wait is { } w && w < gateWait ? w : gateWait;
            }
            if (limitedBy is not null)
            {
                if (!entry.Held)
                {
                    entry.Held = true;
                    decision.NewlyHeld.Add(entry);
                }
                continue;
            }
            entry.Held = false;
            _sending.Add(entry.Key);
            _busyThreads[entry.Thread] = _busyThreads.GetValueOrDefault(entry.Thread) + 1;
            decision.Start.Add(entry);
        }
        return decision with { LimitedBy = limitedBy, Wait = wait };
    }

    /// <summary>A send ended (delivered, failed, or stopped): its slot and its thread are free.</summary>
    public void Done(OutboxEntry entry)
    {
        _sending.Remove(entry.Key);
        if (_busyThreads.TryGetValue(entry.Thread, out var busy) && busy > 1) _busyThreads[entry.Thread] = busy - 1;
        else _busyThreads.Remove(entry.Thread);
    }
}
