using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Settings;

namespace Monitoring.Tests.Notifications;

/// <summary>
/// The delivery worker's pump, without a grain: which queued messages go, in which order, and which wait or are held.
/// Each row is a queue (thread letter and message number, oldest first), the limits, and what the walk must answer.
/// </summary>
public sealed class DeliveryPumpTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    public sealed record Row(string Name, string[] Queue, int MaxInFlight, bool Enabled, int? RatePerSecond, string[] Start, string[] Held, string[] Disabled);

    public static TheoryData<Row> Rows() => new(
        new Row("oldest first, one per thread", ["a1", "a2", "b1"], 10, true, null, ["a1", "b1"], [], []),
        new Row("at most max in flight; the rest wait, not held", ["a1", "b1", "c1"], 2, true, null, ["a1", "b1"], [], []),
        new Row("a rate limit holds every later one, in order", ["a1", "b1", "c1"], 10, true, 1, ["a1"], ["b1", "c1"], []),
        new Row("a later message of a held thread is neither sent nor held", ["a1", "b1", "b2"], 10, true, 1, ["a1"], ["b1"], []),
        new Row("a disabled channel finishes the first of each thread as disabled", ["a1", "a2", "b1"], 10, false, null, [], [], ["a1", "b1"]),
        new Row("one thread only: one message goes", ["a1", "a2", "a3"], 10, true, null, ["a1"], [], []));

    [Theory]
    [MemberData(nameof(Rows))]
    public void A_walk_starts_holds_and_disables_as_the_row_says(Row row)
    {
        var pump = new DeliveryPump();
        var queue = row.Queue.Select(Entry).ToList();
        var decision = pump.Walk(queue, row.MaxInFlight, row.Enabled, Gate(row.RatePerSecond), Now);
        Assert.Equal(row.Start, decision.Start.Select(Name));
        Assert.Equal(row.Held, decision.NewlyHeld.Select(Name));
        Assert.Equal(row.Disabled, decision.Disabled.Select(Name));
        Assert.Equal(row.Held.Length > 0, decision.Wait is not null);
        Assert.Equal(row.Held.Length > 0 ? "channel" : null, decision.LimitedBy);
        Assert.Equal(row.Start.Length, pump.InFlight);
    }

    [Fact]
    public void A_finished_send_frees_its_thread_for_the_next_message_and_a_held_one_is_not_held_twice()
    {
        var pump = new DeliveryPump();
        var (a1, a2, b1) = (Entry("a1"), Entry("a2"), Entry("b1"));
        var gate = Gate(1);
        var first = pump.Walk([a1, a2, b1], 10, true, gate, Now);
        Assert.Equal(["a1"], first.Start.Select(Name));
        Assert.Equal(["b1"], first.NewlyHeld.Select(Name));

        // Still a1 on its way and no token: b1 stays held, and is not counted held again.
        var second = pump.Walk([a1, a2, b1], 10, true, gate, Now);
        Assert.Empty(second.Start);
        Assert.Empty(second.NewlyHeld);

        // a1 done and a second later: the next token goes to the oldest waiting, a2 (its thread is free now).
        pump.Done(a1);
        var third = pump.Walk([a2, b1], 10, true, gate, Now + TimeSpan.FromSeconds(1));
        Assert.Equal(["a2"], third.Start.Select(Name));
        Assert.False(a2.Held);
        Assert.True(b1.Held);
    }

    private static string Name(OutboxEntry entry) => entry.Notification.AlertId + entry.Notification.Sequence;

    /// <summary>A message of thread <c>name[0]</c> (its alert), numbered <c>name[1..]</c>.</summary>
    private static OutboxEntry Entry(string name)
    {
        var notification = new Notification(name[..1], "rule", "Rule", "server", "Server", Severity.Critical, NotificationKind.Firing, "firing",
            "message", 1, Now, Now, [], [], "", int.Parse(name[1..]));
        return new OutboxEntry { Notification = notification, RecordedAt = Now, UpdatedAt = Now };
    }

    private static RateGate Gate(int? perSecond) =>
        new(perSecond is { } rate ? new TokenBucket(rate, 1) : null,
            new ClusterDeliveryLimiter(Options.Create(new NotificationOptions { ClusterRatePerSecond = 0 }), new FakeTimeProvider(Now), null!));
}
