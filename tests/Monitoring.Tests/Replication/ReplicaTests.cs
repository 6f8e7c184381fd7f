using Microsoft.Extensions.Time.Testing;
using Monitoring.Replication;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Replication;

/// <summary>
/// The one copy type behind the rules, silences, routing, inhibitors and API keys: when it asks its owner, how many
/// asks a crowd of readers makes, and which copy wins when a push and a refresh cross. No cluster: the owner is a
/// function the test answers by hand.
/// </summary>
public sealed class ReplicaTests
{
    private sealed record Doc(long Version, string Text);

    private sealed class Owner
    {
        public Doc Current = new(1, "one");
        public int Asks;
        public TaskCompletionSource? Gate;
        public Exception? Failure;

        public async Task<Doc?> GetIfChangedAsync(long known)
        {
            Interlocked.Increment(ref Asks);
            if (Gate is { } gate) await gate.Task;
            if (Failure is { } failure) throw failure;
            return Current.Version == known ? null : Current;
        }
    }

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new();
    private readonly Owner _owner = new();
    private readonly Replica<Doc> _replica;

    public ReplicaTests() => _replica = new Replica<Doc>(new Doc(0, "empty"), d => d.Version, known => _owner.GetIfChangedAsync(known), _time, Interval);

    [Fact]
    public async Task The_first_read_waits_for_the_owner_and_a_fresh_copy_asks_nothing()
    {
        Assert.Equal("one", (await _replica.GetAsync()).Text);
        _owner.Current = new Doc(2, "two");
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.Equal("one", (await _replica.GetAsync()).Text);
        Assert.Equal(1, _owner.Asks);
    }

    [Fact]
    public async Task A_stale_copy_answers_at_once_while_one_refresh_runs_for_every_reader()
    {
        await _replica.GetAsync();
        _owner.Current = new Doc(2, "two");
        _owner.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _time.Advance(Interval);
        var reads = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _replica.GetAsync()));
        Assert.All(reads, d => Assert.Equal("one", d.Text));
        await Eventually.TrueAsync(() => _owner.Asks == 2, "the refresh to start");
        _owner.Gate.SetResult();
        await Eventually.TrueAsync(async () => (await _replica.GetAsync()).Text == "two", "the refresh to land");
        Assert.Equal(2, _owner.Asks);
    }

    [Fact]
    public async Task After_an_invalidation_readers_wait_for_a_copy_asked_for_afterwards()
    {
        await _replica.GetAsync();
        _owner.Current = new Doc(2, "two");
        _replica.Invalidate();
        Assert.Equal("two", (await _replica.GetAsync()).Text);
        Assert.Equal(2, _owner.Asks);
    }

    [Fact]
    public async Task A_pushed_copy_wins_over_an_older_one_and_over_a_refresh_it_crossed()
    {
        await _replica.GetAsync();
        _replica.Accept(new Doc(0, "older"));
        Assert.Equal("one", _replica.Known.Text);

        _owner.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _owner.Current = new Doc(2, "two");
        var refresh = _replica.RefreshAsync();
        await Eventually.TrueAsync(() => _owner.Asks == 2, "the refresh to ask");
        _replica.Accept(new Doc(3, "three"));
        _owner.Gate.SetResult();
        Assert.Equal("three", (await refresh).Text);
    }

    [Fact]
    public async Task A_failed_refresh_of_a_stale_copy_keeps_the_copy_and_asks_again_next_read()
    {
        await _replica.GetAsync();
        _owner.Failure = new InvalidOperationException("owner away");
        _time.Advance(Interval);
        Assert.Equal("one", (await _replica.GetAsync()).Text);
        await Eventually.TrueAsync(() => _owner.Asks == 2, "the failed refresh");
        _owner.Failure = null;
        _owner.Current = new Doc(2, "two");
        await Eventually.TrueAsync(async () => (await _replica.GetAsync()).Text == "two", "a later refresh to land");
    }

    [Fact]
    public async Task A_failed_first_read_is_the_callers_error_and_the_next_read_asks_again()
    {
        _owner.Failure = new InvalidOperationException("owner away");
        await Assert.ThrowsAsync<InvalidOperationException>(() => _replica.GetAsync());
        _owner.Failure = null;
        Assert.Equal("one", (await _replica.GetAsync()).Text);
    }

    [Fact]
    public async Task An_owner_whose_version_went_back_is_taken_on_refresh_but_never_from_a_push()
    {
        await _replica.GetAsync();
        // An owner held in memory starts its versions again when it reactivates: any other version is news to a refresh.
        _owner.Current = new Doc(0, "restarted");
        _replica.Invalidate();
        Assert.Equal("restarted", (await _replica.GetAsync()).Text);
        _replica.Accept(new Doc(0, "pushed, same version"));
        Assert.Equal("restarted", _replica.Known.Text);
    }

    [Fact]
    public async Task A_copy_that_must_not_answer_stale_waits_for_the_one_refresh()
    {
        var keys = new Replica<Doc>(new Doc(0, "empty"), d => d.Version, known => _owner.GetIfChangedAsync(known), _time, Interval, waitWhenStale: true);
        await keys.GetAsync();
        _owner.Current = new Doc(2, "revoked");
        _owner.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _time.Advance(Interval);
        var reads = Enumerable.Range(0, 20).Select(_ => keys.GetAsync()).ToArray();
        await Eventually.TrueAsync(() => _owner.Asks == 2, "the refresh to ask");
        Assert.DoesNotContain(reads, r => r.IsCompleted);
        _owner.Gate.SetResult();
        Assert.All(await Task.WhenAll(reads), d => Assert.Equal("revoked", d.Text));
        Assert.Equal(2, _owner.Asks);
    }

    /// <summary>Runs the first task queued to it, then nothing more: a grain activation that was deactivated.</summary>
    private sealed class StoppedScheduler : TaskScheduler
    {
        private int _first = 1;

        protected override void QueueTask(Task task)
        {
            if (Interlocked.Exchange(ref _first, 0) == 1) TryExecuteTask(task);
        }

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

        protected override IEnumerable<Task> GetScheduledTasks() => [];
    }

    [Fact]
    public async Task A_refresh_started_by_a_grain_that_stops_running_still_serves_every_other_reader()
    {
        // The first read starts the one refresh from a scheduler that then stops, as a grain deactivated mid-read does.
        _ = Task.Factory.StartNew(() => _replica.GetAsync(), CancellationToken.None, TaskCreationOptions.None, new StoppedScheduler());
        await Eventually.TrueAsync(() => _owner.Asks >= 1, "the first read to ask");
        // Every other reader joins that refresh; it must finish on its own.
        Assert.Equal("one", (await _replica.GetAsync().WaitAsync(TimeSpan.FromSeconds(10))).Text);
    }
}
