namespace Monitoring.Settings;

/// <summary>
/// Stores a grain's state behind its changes: a change marks it, and it is written once, <c>delay</c> after the first
/// unwritten change, however many more follow; a write on demand (or at deactivation) clears the mark. For what the
/// grain can afford to lose a second of (a delivery report, an alert joining an incident), never for what it promised.
/// </summary>
public sealed class WriteBehind(IGrainBase grain, Func<CancellationToken, Task> write, TimeSpan delay)
{
    private IGrainTimer? _timer;

    public bool Pending { get; private set; }

    public void Mark()
    {
        if (Pending) return;
        Pending = true;
        // A one-shot timer, kept only while a write is due: thousands of quiet grains hold none (about 0.4 KB each).
        _timer ??= grain.RegisterGrainTimer(OnDueAsync, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
    }

    private async Task OnDueAsync(CancellationToken token)
    {
        try
        {
            if (Pending) await WriteAsync(token);
        }
        finally
        {
            // After the write: disposing a timer cancels the token its running callback was given. A write that failed
            // and marked the state again (or a change during the write) gets a timer of its own.
            _timer?.Dispose();
            _timer = null;
            if (Pending) _timer = grain.RegisterGrainTimer(OnDueAsync, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan));
        }
    }

    public Task WriteAsync(CancellationToken cancellationToken = default)
    {
        Pending = false;
        return write(cancellationToken);
    }

    /// <summary>
    /// A write-behind whose failed write is logged and tried again a delay later (the state stays marked), for state a
    /// grain keeps whole in memory and can always write again.
    /// </summary>
    public static WriteBehind Retrying(IGrainBase grain, Func<CancellationToken, Task> write, TimeSpan delay, ILogger logger, string what)
    {
        WriteBehind? behind = null;
        behind = new WriteBehind(grain, async token =>
        {
            try
            {
                await write(token);
            }
            catch (Exception e)
            {
                behind!.Mark();
                logger.LogWarning(e, "{What} was not stored; trying again", what);
            }
        }, delay);
        return behind;
    }
}
