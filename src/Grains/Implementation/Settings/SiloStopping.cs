namespace Monitoring.Settings;

/// <summary>
/// Set when this silo starts to stop, before its grains are deactivated: from then on timers start no new checks or
/// evaluations, which could only reach alerts that can no longer be placed anywhere (the cause of failed placements
/// logged at shutdown). Whatever was in flight finishes; whatever was due runs on the next activation.
/// </summary>
public sealed class SiloStopping : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _stopping;

    public bool IsStopping => _stopping;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloStopping), ServiceLifecycleStage.Active, _ => Task.CompletedTask, _ =>
        {
            _stopping = true;
            return Task.CompletedTask;
        });
}
