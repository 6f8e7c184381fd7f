using System.Collections.Concurrent;
using Monitoring.Settings;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Persistence;

/// <summary>
/// Group commit (<see cref="GroupCommit"/>) on one exclusive scheduler, as a reentrant grain's turns run: the calls
/// made while a write runs share the next write, none returns before a write that began after it, and a failed write
/// fails only the call that started it.
/// </summary>
public sealed class GroupCommitTests
{
    private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
    private readonly ConcurrentQueue<TaskCompletionSource> _writes = new();

    private GroupCommit Commit() => new(() =>
    {
        var write = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writes.Enqueue(write);
        return write.Task;
    });

    /// <summary>Starts a call as a grain turn and answers its task.</summary>
    private Task<Task> Turn(Func<Task> call) => Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.None, _turns);

    private TaskCompletionSource Write(int index) => _writes.ToArray()[index];

    private Task WritesStarted(int count) => Eventually.TrueAsync(() => _writes.Count == count, $"{count} writes started", TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Calls_made_while_a_write_runs_share_the_next_one_and_none_returns_before_a_write_that_holds_it()
    {
        var commit = Commit();
        var first = await Turn(commit.CommitAsync);
        await WritesStarted(1);
        var others = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Turn(commit.CommitAsync)));

        Write(0).SetResult();
        await first;
        await WritesStarted(2); // the ten changes were made after the first write began: it does not hold them
        Assert.All(others, call => Assert.False(call.IsCompleted));

        Write(1).SetResult();
        await Task.WhenAll(others);
        Assert.Equal(2, _writes.Count);
    }

    [Fact]
    public async Task A_failed_write_fails_the_call_that_started_it_and_the_waiting_calls_write_again()
    {
        var commit = Commit();
        var first = await Turn(commit.CommitAsync);
        await WritesStarted(1);
        var waiting = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Turn(commit.CommitAsync)));

        Write(0).SetException(new IOException("storage down"));
        await Assert.ThrowsAsync<IOException>(() => first);
        await WritesStarted(2);
        Assert.All(waiting, call => Assert.False(call.IsCompleted));

        Write(1).SetResult();
        await Task.WhenAll(waiting);
        Assert.Equal(2, _writes.Count);
    }
}
