namespace Monitoring.Settings;

/// <summary>
/// A reentrant grain's state writes, one after another: interleaved turns never race two writes of the same state
/// (which would fail on its ETag). A write after a failed one still runs; the failure is logged once.
/// </summary>
public sealed class SerialWrites(Func<Task> write, ILogger logger, string owner)
{
    private Task _last = Task.CompletedTask;

    /// <summary>The write queued after every earlier one; awaiting it awaits them all.</summary>
    public Task WriteAsync() => _last = AfterAsync(_last);

    /// <summary>Waits for the writes already queued, without queueing another.</summary>
    public Task Settled => _last;

    private async Task AfterAsync(Task previous)
    {
        try
        {
            await previous;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "An earlier state write of {Owner} failed; writing again", owner);
        }
        await write();
    }
}
