using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Hosting.Persistence;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Persistence;

/// <summary>Both outbox stores answer "anything pending?" as their pending rows say: recorded, held, then finished.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OutboxStoreTests(PostgresFixture pg)
{
    [Fact]
    public async Task Any_pending_follows_the_rows_in_memory_and_in_PostgreSQL()
    {
        var schema = PostgresFixture.NewSchema();
        await Schema.MigrateAsync(pg.DataSource, schema);
        foreach (var store in new IOutboxStore[] { new InMemoryOutboxStore(), new PostgresOutboxStore(pg.DataSource, schema, new StatementBatcher(pg.DataSource)) })
        {
            var now = DateTimeOffset.UtcNow;
            var entry = new OutboxEntry
            {
                Notification = new Notification("r:s", "r", "R", "s", "S", Severity.Critical, NotificationKind.Firing, "firing", "m", 1, now, now, [], [], "", 1),
                RecordedAt = now, UpdatedAt = now,
            };
            Assert.False(await store.AnyPendingAsync("c1"));
            Assert.True(await store.TryRecordAsync("c1", entry));
            Assert.True(await store.AnyPendingAsync("c1"));
            Assert.False(await store.AnyPendingAsync("c2"));
            entry.Held = true;
            await store.UpdateAsync("c1", entry);
            Assert.True(await store.AnyPendingAsync("c1"));
            Assert.Single(await store.PendingAsync("c1"));
            await store.FinishAsync("c1", entry.Record("c1", DeliveryState.Delivered));
            Assert.False(await store.AnyPendingAsync("c1"));
        }
    }
}
