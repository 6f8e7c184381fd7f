using Microsoft.Extensions.Options;
using Monitoring.Settings;

namespace Monitoring.Channels.Delivery;

/// <summary>
/// The cluster-wide cap on notifications a second, with no grain in the path: each silo takes an equal share of the cap
/// (the cap divided by the active silos in the membership table) in a local token bucket. When a silo joins or
/// leaves, every share changes with the next delivery. The sum never exceeds the cap by more than one burst per silo.
/// </summary>
public sealed class ClusterDeliveryLimiter(IOptions<NotificationOptions> options, TimeProvider time, IServiceProvider services)
{
    private readonly Lock _lock = new();
    private TokenBucket? _bucket;

    /// <summary>Active silos; read from Orleans' membership when a silo hosts this, else 1.</summary>
    public Func<int> ActiveSilos { get; set; } = () => CountActiveSilos(services);

    /// <summary>Takes one token, or answers how long to wait for one.</summary>
    public bool TryAcquire(out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var cap = options.Value.ClusterRatePerSecond;
        if (cap <= 0) return true;
        var share = cap / Math.Max(1, ActiveSilos());
        var burst = Math.Max(1, share * options.Value.ClusterBurstSeconds);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            _bucket ??= new TokenBucket(share, burst);
            if (_bucket.PerSecond != share || _bucket.Burst != burst) _bucket.Reshape(share, burst);
            if (_bucket.TryTake(now)) return true;
            retryAfter = _bucket.WaitFor(now);
            return false;
        }
    }

    /// <summary>Gives back a token taken for a message that did not go after all.</summary>
    public void Give()
    {
        lock (_lock) _bucket?.Give();
    }

    private static int CountActiveSilos(IServiceProvider services)
    {
        if (services.GetService(typeof(Orleans.Runtime.IClusterMembershipService)) is not Orleans.Runtime.IClusterMembershipService membership) return 1;
        return membership.CurrentSnapshot.Members.Values.Count(m => m.Status == Orleans.Runtime.SiloStatus.Active);
    }
}
