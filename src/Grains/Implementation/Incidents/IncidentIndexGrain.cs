using Monitoring.Settings;

namespace Monitoring.Routing;

[GenerateSerializer, Alias("mcp.IncidentIndexState")]
public sealed class IncidentIndexState
{
    [Id(0), JsonPropertyName("Incidents")] public Dictionary<string, IncidentSummary> Incidents { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Every incident's latest summary, for the listing. Stored behind (at most once a second) and bounded to
/// <see cref="MaxIncidents"/>: when full, the longest-resolved incidents leave first. Incidents are few by design
/// (one per route and group), so one grain holds them.
/// </summary>
[GrainType("incidentindex")]
public sealed class IncidentIndexGrain(
    [PersistentState("incidents", StorageNames.Rules)] IPersistentState<IncidentIndexState> state,
    ILogger<IncidentIndexGrain> logger)
    : Grain, IIncidentIndexGrain
{
    public const int MaxIncidents = 10_000;
    private WriteBehind? _writeBehind;

    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, WriteAsync, TimeSpan.FromSeconds(1));

    public Task UpsertAsync(IncidentSummary summary)
    {
        var incidents = state.State.Incidents;
        if (incidents.TryGetValue(summary.Id, out var known) && known.UpdatedAt > summary.UpdatedAt) return Task.CompletedTask;
        incidents[summary.Id] = summary;
        if (incidents.Count > MaxIncidents)
        {
            foreach (var old in incidents.Values.OrderBy(i => i.Status != IncidentStatus.Resolved).ThenBy(i => i.UpdatedAt).Take(incidents.Count - MaxIncidents).ToArray())
            {
                incidents.Remove(old.Id);
            }
        }
        Writes.Mark();
        return Task.CompletedTask;
    }

    public Task<IncidentSummary[]> ListAsync() => Task.FromResult(state.State.Incidents.Values.ToArray());

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        Writes.Pending ? Writes.WriteAsync(cancellationToken) : Task.CompletedTask;

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception e)
        {
            Writes.Mark();
            logger.LogWarning(e, "The incident index was not stored; trying again with the next change");
        }
    }
}
