using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Monitoring.Hosting.Cluster;

/// <summary>
/// The clock Orleans' membership and watchdog read, with timestamps counted from this process's start instead of the
/// machine's boot. Orleans' watchdog starts its stall checker a moment before it first stamps the component check, and
/// that first reading of an unset stamp (0) used to report a stall as long as the machine's uptime
/// ("Participant check thread has not completed for 01:37:46"). From the process start, 0 is a few seconds ago: no
/// false stall, and a real one is still reported. Wall-clock time and timers are the system's.
/// </summary>
public sealed class ProcessClock : TimeProvider
{
    private static readonly long Start = Stopwatch.GetTimestamp();

    public static void Use(IServiceCollection services) =>
        services.AddKeyedSingleton<TimeProvider>(TimeProviderNames.Membership, new ProcessClock());

    public override long GetTimestamp() => Stopwatch.GetTimestamp() - Start;

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => System.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);
}
