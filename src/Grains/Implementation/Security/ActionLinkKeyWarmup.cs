using Monitoring.Settings;

namespace Monitoring.Security;

/// <summary>
/// Reads the action-link keys as the silo turns active, so that its first page does not wait for the keys grain (an
/// activation, a read and, in a new cluster, the first key's write). Later reads are of a copy refreshed behind.
/// </summary>
public sealed class ActionLinkKeyWarmup(ActionLinkKeyRing keys, SiloStopping stopping, ILogger<ActionLinkKeyWarmup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ActionLinkKeyWarmup), ServiceLifecycleStage.Active, started =>
        {
            _ = Task.Run(() => ReadAsync());
            return Task.CompletedTask;
        });

    private async Task ReadAsync()
    {
        try
        {
            await keys.SigningAsync();
        }
        catch (Exception e) when (!stopping.IsStopping)
        {
            // Not fatal: the first message reads them again, and goes without links if they still cannot be read.
            logger.LogWarning("The action-link keys could not be read as the silo started ({Error}); the first message will read them again", e.GetType().Name);
        }
        catch (Exception)
        {
            // The silo stops: nothing to tell.
        }
    }
}
