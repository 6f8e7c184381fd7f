using Microsoft.Extensions.Time.Testing;
using Monitoring.Alerts;
using Monitoring.Listings;

namespace Monitoring.Tests.Persistence;

/// <summary>A grain's listing entry is a projection: written within a bound, or reported as not written, never thrown.</summary>
public sealed class ListingProjectionTests
{
    private static readonly AlertEntry Entry = new("r1:s1", "r1", "s1", "High", Common.Severity.Critical, AlertStatus.Firing, "m", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1);

    private sealed class Store(Func<Task> upsert) : IListingStore
    {
        public Task UpsertAsync<TEntry>(TEntry entry) where TEntry : IListingEntry<TEntry> => upsert();
        public Task RemoveAsync<TEntry>(string id) where TEntry : IListingEntry<TEntry> => throw new NotSupportedException();
        public Task<(TEntry[] Items, int Total)> QueryAsync<TEntry>(ListingQuery query) where TEntry : IListingEntry<TEntry> => throw new NotSupportedException();
        public Task<Dictionary<string, int>> CountByAsync<TEntry>(params string[] fields) where TEntry : IListingEntry<TEntry> => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_write_that_does_not_answer_is_given_up_at_the_bound_and_a_failed_one_is_answered_not_thrown()
    {
        var clock = new FakeTimeProvider();
        var never = new TaskCompletionSource();
        var pending = new Store(() => never.Task).TryUpsertAsync(Entry, TimeSpan.FromSeconds(5), clock);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(pending.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.IsType<TimeoutException>(await pending.WaitAsync(TimeSpan.FromSeconds(10)));

        var failing = await new Store(() => Task.FromException(new InvalidOperationException("shard down"))).TryUpsertAsync(Entry, TimeSpan.FromSeconds(5), clock);
        Assert.Equal("shard down", Assert.IsType<InvalidOperationException>(failing).Message);

        Assert.Null(await new Store(() => Task.CompletedTask).TryUpsertAsync(Entry, TimeSpan.FromSeconds(5), clock));
    }
}
