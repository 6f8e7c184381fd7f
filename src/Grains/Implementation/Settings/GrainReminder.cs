namespace Monitoring.Settings;

/// <summary>
/// A grain's one reminder, kept registered while the grain wants it (work that must survive its silo) and removed when
/// not. Registering can fail (the reminder table or its silo is away): the grain's state is already stored, so a
/// failure is logged and left in doubt, and the next sync tries again; it is never thrown at the grain's caller.
/// </summary>
public sealed class GrainReminder(IGrainBase grain, string name, TimeSpan period, ILogger logger)
{
    /// <summary>Whether the reminder is believed registered (a grain assumes so when its state says it wanted one).</summary>
    public bool Registered { get; set; }

    /// <summary>The last sync failed: the next sync tries again, even if the wish did not change.</summary>
    public bool InDoubt { get; private set; }

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

    public async Task SyncAsync(bool wanted)
    {
        if (wanted == Registered && !InDoubt) return;
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
        }
    }
}

/// <summary>
/// A one-shot grain timer set to the grain's next deadline, or stopped when nothing is due. It keeps the grain active
/// while it is set, and is made only when first needed.
/// </summary>
public sealed class DueTimer(IGrainBase grain, Func<Task> tick, TimeProvider time)
{
    private IGrainTimer? _timer;

    public void Set(DateTimeOffset? due)
    {
        if (due is null)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = due.Value - time.GetUtcNow();
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        _timer ??= grain.RegisterGrainTimer(_ => tick(), new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }
}
