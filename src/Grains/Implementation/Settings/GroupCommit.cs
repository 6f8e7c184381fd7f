namespace Monitoring.Settings;

/// <summary>
/// Group commit for a reentrant grain's state: a change waits for a write that began after it, and while one write
/// runs, the changes made meanwhile wait and go together in the next, so a storm of calls is a few writes and none
/// returns before a write that holds it. A failed write fails the call that started it; the others waiting on it write
/// again. The write itself takes what is to be stored when it starts (the caller's write function snapshots).
/// </summary>
public sealed class GroupCommit(Func<Task> write)
{
    private long _changed;
    private long _written;
    private Task? _writing;

    /// <summary>Returns once a write that began after this call is stored.</summary>
    public async Task CommitAsync()
    {
        var mine = ++_changed;
        while (_written < mine)
        {
            if (_writing is { IsCompleted: false } running)
            {
                try
                {
                    await running;
                }
                catch
                {
                    // That write did not hold this change either; the loop writes again.
                }
                continue;
            }
            await (_writing = WriteAsync());
        }
    }

    private async Task WriteAsync()
    {
        await Task.Yield(); // the turns that interleave meanwhile join this write
        var upTo = _changed;
        await write();
        _written = Math.Max(_written, upTo);
    }
}
