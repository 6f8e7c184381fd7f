namespace Monitoring.Settings;

/// <summary>
/// A grain's one reminder, kept registered while the grain wants it (work that must survive its silo) and removed when
/// not. The grain's state is stored before it asks, so the reminder table is never waited on: a sync starts the change
/// in the background, on the grain's own scheduler, and returns at once. While the table is away (Redis down) a call
/// would otherwise hold the grain's turn for the client's whole timeout (about 17 s), and every message of a channel,
/// every alert joining an incident, behind it. A failure is logged and left in doubt, and the next sync tries again;
/// it is never thrown at the grain's caller. One change runs at a time; one that ends re-reads the latest wish.
/// </summary>
public sealed class GrainReminder(IGrainBase grain, string name, TimeSpan period, ILogger logger)
{
    private bool _wanted;
    private Task? _running;

    /// <summary>Whether the reminder is believed registered (a grain assumes so when its state says it wanted one).</summary>
    public bool Registered { get; set; }

    /// <summary>The last change failed: the next sync tries again, even if the wish did not change.</summary>
    public bool InDoubt { get; private set; }

    /// <summary>The change under way, if any (tests and shutdown may wait for it).</summary>
    public Task Settled => _running ?? Task.CompletedTask;

    /// <summary>It ticked, so it exists.</summary>
    public void Ticked()
    {
        Registered = true;
        InDoubt = false;
    }

    /// <summary>Asks the reminder table whether the reminder is there, rather than believing it, and syncs from what it says.</summary>
    public async Task EnsureAsync(bool wanted)
    {
        try
        {
            Registered = await grain.GetReminder(name) is not null;
        }
        catch (Exception e)
        {
            InDoubt = true;
            logger.LogWarning(e, "{Grain}: the reminder table could not be read; trying again shortly", grain.GrainContext.GrainId);
            return;
        }
        await SyncAsync(wanted);
    }

    /// <summary>Starts bringing the table in line with <paramref name="wanted"/>, without waiting for it.</summary>
    public Task SyncAsync(bool wanted)
    {
        _wanted = wanted;
        if (_running is null && (wanted != Registered || InDoubt)) _running = RunAsync();
        return Task.CompletedTask;
    }

    private async Task RunAsync()
    {
        try
        {
            while (_wanted != Registered || InDoubt)
            {
                var wanted = _wanted;
                try
                {
                    if (wanted) await grain.RegisterOrUpdateReminder(name, period, period);
                    else if (await grain.GetReminder(name) is { } reminder) await grain.UnregisterReminder(reminder);
                    Registered = wanted;
                    InDoubt = false;
                }
                catch (Exception e)
                {
                    InDoubt = true;
                    logger.LogWarning(e, "{Grain}: its reminder could not be {Action}; trying again shortly", grain.GrainContext.GrainId, wanted ? "registered" : "removed");
                    return;
                }
            }
        }
        finally
        {
            _running = null;
        }
    }
}

/// <summary>
/// A one-shot grain timer set to the grain's next deadline, or stopped when nothing is due. It keeps the grain active
/// while it is set, and is made only when first needed. <paramref name="interleave"/>: its tick may run between the
/// awaits of other calls.
/// </summary>
public sealed class DueTimer(IGrainBase grain, Func<Task> tick, TimeProvider time, bool interleave = false)
{
    private IGrainTimer? _timer;
    private DateTimeOffset? _due;

    public void Set(DateTimeOffset? due)
    {
        _due = due;
        if (due is null)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = due.Value - time.GetUtcNow();
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        _timer ??= grain.RegisterGrainTimer(_ =>
        {
            _due = null;
            return tick();
        }, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = interleave });
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Due <paramref name="wait"/> from now at the latest: a sooner deadline already set stays.</summary>
    public void Within(TimeSpan wait)
    {
        var now = time.GetUtcNow();
        if (_due is { } due && due > now && due <= now + wait) return;
        Set(now + wait);
    }
}
