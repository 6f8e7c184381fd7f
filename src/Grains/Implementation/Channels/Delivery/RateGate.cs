namespace Monitoring.Channels.Delivery;

/// <summary>
/// The rate-limit stage: the channel's own token bucket, then this silo's share of the cluster cap. A notification
/// that does not pass is held, in order, never dropped; the gate says how long until the next one may.
/// </summary>
public sealed class RateGate(TokenBucket? channel, ClusterDeliveryLimiter cluster)
{
    /// <summary>Takes a token from both limits, or answers which one holds and for how long.</summary>
    public bool TryPass(DateTimeOffset now, out TimeSpan wait, out string limit)
    {
        limit = "channel";
        wait = channel?.WaitFor(now) ?? TimeSpan.Zero;
        if (wait > TimeSpan.Zero)
        {
            return false;
        }
        limit = "cluster";
        if (!cluster.TryAcquire(out wait))
        {
            return false;
        }
        channel?.TryTake(now);
        return true;
    }

    /// <summary>
    /// Gives back what <see cref="TryPass"/> took, for a message that did not go after all (another live activation
    /// holds its row), so a message that waits does not spend the limit of those that go.
    /// </summary>
    public void Refund()
    {
        channel?.Give();
        cluster.Give();
    }
}
