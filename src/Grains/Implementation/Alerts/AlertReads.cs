using Monitoring.Escalation;
using Monitoring.Silences;

namespace Monitoring.Alerts;

/// <summary>
/// What an alert reads besides its own state: the silence matching it, its rule's escalation policy and the alert
/// inhibiting it. Each is read from the silo's caches; what cannot be read is said in the log and falls back to what
/// errs on the side of paging correctly (the last known silence stays in force; no inhibition).
/// </summary>
internal sealed class AlertReads(string alertId, Func<AlertState> state, Muting.Mutes mutes, IGrainFactory grains, ILogger logger)
{
    private AlertState S => state();

    public Dictionary<string, string> Labels() =>
        new(AlertLabels.Of(alertId, S.Rule!.Id, S.Rule.Name, S.Server!.Id, S.Rule.Severity, S.Server.Labels), StringComparer.Ordinal);

    /// <summary>The silence matching now (or the last known, when the catalog cannot be read), and the rule's policy when the alert may fire.</summary>
    public async Task<AlertInputs> InputsAsync(DateTimeOffset now, bool refreshSilence, bool mayFire)
    {
        var rule = S.Rule!;
        var silence = AlertJournal.KnownSilence(S.Life);
        if (refreshSilence)
        {
            try
            {
                silence = await mutes.SilenceOfAsync(Labels(), now);
            }
            catch (Exception e)
            {
                // Without the catalog, keep what was known: a silence stays in force rather than letting a flood through.
                logger.LogWarning(e, "Alert {AlertId} could not read the silences; keeping the last known", alertId);
            }
        }
        EscalationPolicy? policy = null;
        if (mayFire && rule.EscalationPolicy is { } policyId)
        {
            policy = await grains.GetGrain<IEscalationPolicyGrain>(policyId).GetAsync();
            if (policy is null) logger.LogWarning("Alert {AlertId}: escalation policy {PolicyId} does not exist; only the rule's channels are told", alertId, policyId);
        }
        return new AlertInputs(rule, policy, silence);
    }

    public async Task<string?> InhibitedByAsync()
    {
        try
        {
            return await mutes.InhibitedByAsync(alertId, Labels());
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId} could not read the inhibition rules; not inhibited", alertId);
            return null;
        }
    }
}
