namespace Monitoring.Tests.Support;

/// <summary>Waits on a condition with a deadline, polling briefly: never a fixed sleep.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        await TrueAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>Checks that something stays false for a short while: for asserting that nothing was sent.</summary>
    public static async Task StaysFalseAsync(Func<bool> condition, string what, TimeSpan? window = null)
    {
        var until = DateTime.UtcNow + (window ?? TimeSpan.FromMilliseconds(300));
        while (DateTime.UtcNow < until)
        {
            Assert.False(condition(), what);
            await Task.Delay(10);
        }
    }
}
