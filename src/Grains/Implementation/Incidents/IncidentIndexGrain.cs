using Monitoring.Settings;

namespace Monitoring.Routing;

[GenerateSerializer, Alias("mcp.IncidentIndexState")]
public sealed class IncidentIndexState
{
    [Id(0), JsonPropertyName("Incidents")] public Dictionary<string, IncidentSummary> Incidents { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Every incident's latest summary, for the listing. Stored behind (at most every 5 seconds). Resolved incidents are
/// bounded: past <see cref="MaxIncidents"/> summaries (and a tenth more, so the trimming is not done on every change)
/// the longest-resolved leave first, down to the bound. Open incidents always stay listed, however many a storm opens.
/// Incidents are few by design (one per route and group), so one grain holds them.
/// </summary>
[GrainType("incidentindex")]
public sealed class IncidentIndexGrain(
    [PersistentState("incidents", StorageNames.Rules)] IPersistentState<IncidentIndexState> state,
    ILogger<IncidentIndexGrain> logger)
    : Grain, IIncidentIndexGrain
{
    public const int MaxIncidents = 10_000;
    private WriteBehind? _writeBehind;
    private int _openAtLastTrim; // when most are open, trimming again waits until a tenth more have come

    /// <summary>
    /// Stored every 5 seconds at most: a summary lost with a silo comes back with its incident's next change or reminder
    /// tick (each tick says the summary again, <see cref="IncidentGrain.ReceiveReminder"/>), and the whole index is one
    /// write (megabytes at 10,000 incidents).
    /// </summary>
    private WriteBehind Writes => _writeBehind ??= WriteBehind.Retrying(this, token => state.WriteStateAsync(token), TimeSpan.FromSeconds(5), logger, "The incident index");

    public Task UpsertAsync(IncidentSummary summary)
    {
        var incidents = state.State.Incidents;
        if (incidents.TryGetValue(summary.Id, out var known) && (known.UpdatedAt > summary.UpdatedAt || known with { UpdatedAt = summary.UpdatedAt, GroupLabels = summary.GroupLabels } == summary))
        {
            // Older, or the same said again (each incident's reminder says it; its id fixes its group labels): nothing to store.
            return Task.CompletedTask;
        }
        incidents[summary.Id] = summary;
        if (incidents.Count > MaxIncidents + MaxIncidents / 10 && incidents.Count > _openAtLastTrim + MaxIncidents / 10)
        {
            var resolved = incidents.Values.Where(i => i.Status == IncidentStatus.Resolved).ToArray();
            _openAtLastTrim = incidents.Count - resolved.Length;
            foreach (var old in resolved.OrderBy(i => i.UpdatedAt).Take(incidents.Count - MaxIncidents))
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
}
