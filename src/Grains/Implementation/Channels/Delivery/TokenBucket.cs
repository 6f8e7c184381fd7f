namespace Monitoring.Channels.Delivery;

/// <summary>
/// A token bucket on an injected clock: <see cref="Burst"/> tokens at most, refilled at <see cref="PerSecond"/>.
/// Not thread-safe; a grain or a lock owns it.
/// </summary>
public sealed class TokenBucket(double perSecond, double burst)
{
    private double _tokens = burst;
    private DateTimeOffset? _refilledAt;

    public double PerSecond { get; private set; } = perSecond;
    public double Burst { get; private set; } = burst;

    /// <summary>Changes the rate and size, keeping the tokens already earned (up to the new size).</summary>
    public void Reshape(double perSecond, double burst)
    {
        PerSecond = perSecond;
        Burst = burst;
        _tokens = Math.Min(_tokens, burst);
    }

    public bool TryTake(DateTimeOffset now)
    {
        Refill(now);
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    /// <summary>Gives back a token taken for a message that did not go after all (never more than the burst).</summary>
    public void Give() => _tokens = Math.Min(Burst, _tokens + 1);

    /// <summary>How long until one token is there; zero when one is there now.</summary>
    public TimeSpan WaitFor(DateTimeOffset now)
    {
        Refill(now);
        if (_tokens >= 1) return TimeSpan.Zero;
        if (PerSecond <= 0) return TimeSpan.MaxValue;
        return TimeSpan.FromSeconds((1 - _tokens) / PerSecond) + TimeSpan.FromMilliseconds(1);
    }

    private void Refill(DateTimeOffset now)
    {
        if (_refilledAt is { } last && now > last)
        {
            _tokens = Math.Min(Burst, _tokens + (now - last).TotalSeconds * PerSecond);
        }
        if (_refilledAt is null || now > _refilledAt) _refilledAt = now;
    }
}
