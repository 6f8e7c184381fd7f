namespace Monitoring.Tests.Support;

/// <summary>Waits on a condition with a deadline, polling briefly: never a fixed sleep.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        await TrueAsync(() => Task.FromResult(condition()), what, timeout);

    /// <param name="every">How long to wait between tries: longer for a condition that reads a whole page, so a slow
    /// wait does not spend the API's per-caller request budget for the tests after it.</param>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}");
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(10));
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
