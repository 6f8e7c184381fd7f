using Monitoring.Settings;

namespace Monitoring.Routing;

/// <summary>
/// When each incident on this silo is next due (its group wait or interval, a repeat, an escalation step, a hand-off
/// retry), kept on one timer for the whole silo. A grain timer each meant tens of thousands of timers in a storm, and
/// the runtime's timer queue walks its long list of timers every third of a second. A wake-up lost with its silo is
/// not lost work: the incident's reminder brings it back, and its new activation asks again.
/// </summary>
public sealed class IncidentWakeups : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _due = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _queue = new(); // may hold superseded entries; _due decides
    private readonly IGrainFactory _grains;
    private readonly SiloStopping _stopping;
    private readonly TimeProvider _time;
    private readonly ILogger<IncidentWakeups> _logger;
    private readonly ITimer _timer;
    private DateTimeOffset? _armedFor;

    public IncidentWakeups(IGrainFactory grains, SiloStopping stopping, TimeProvider time, ILogger<IncidentWakeups> logger)
    {
        _grains = grains;
        _stopping = stopping;
        _time = time;
        _logger = logger;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many incidents this silo will wake.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _due.Count;
        }
    }

    /// <summary>Wakes the incident at <paramref name="due"/> (replacing what it asked before), or never when null.</summary>
    public void Set(string incidentId, DateTimeOffset? due)
    {
        lock (_gate)
        {
            if (due is not { } at)
            {
                _due.Remove(incidentId);
                return;
            }
            if (_due.TryGetValue(incidentId, out var known) && known == at) return;
            _due[incidentId] = at;
            _queue.Enqueue(incidentId, at);
            if (_armedFor is not { } armed || at < armed) Arm(at);
        }
    }

    private void Arm(DateTimeOffset at)
    {
        _armedFor = at;
        var delay = at - _time.GetUtcNow();
        _timer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    private void Fire()
    {
        List<string> woken = [];
        lock (_gate)
        {
            _armedFor = null;
            var now = _time.GetUtcNow();
            while (_queue.TryPeek(out var id, out var at) && at <= now)
            {
                _queue.Dequeue();
                if (_due.TryGetValue(id, out var current) && current == at)
                {
                    _due.Remove(id);
                    woken.Add(id);
                }
            }
            if (_queue.Count > 2 * _due.Count + 1024)
            {
                // Mostly superseded entries (incidents that moved their time or closed): keep only what is asked.
                _queue.Clear();
                foreach (var (id, at) in _due) _queue.Enqueue(id, at);
            }
            if (_queue.TryPeek(out _, out var next)) Arm(next);
        }
        if (_stopping.IsStopping) return; // the next activation, wherever it is placed, asks again
        foreach (var id in woken) _ = WakeAsync(id);
    }

    private async Task WakeAsync(string incidentId)
    {
        try
        {
            await _grains.GetGrain<IIncidentGrain>(incidentId).WakeAsync();
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Incident {IncidentId}: waking it for what is due failed; its reminder brings it back", incidentId);
        }
    }

    public void Dispose() => _timer.Dispose();
}
