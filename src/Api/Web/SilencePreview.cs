using Monitoring.Alerts;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Silences;

namespace Monitoring.Api.Web;

/// <summary>An alert a silence would mute: its id, what it is, and its labels.</summary>
public sealed record PreviewedAlert(string AlertId, string Title, string Status, Dictionary<string, string> Labels);

/// <summary>
/// The alerts that are not resolved, with their labels, as silences see them: the members of open incidents (the
/// product's alerts and those posted through the Alertmanager API) and the product's alerts from the listing.
/// Bounded: at most 200 incidents and 500 alerts are looked at; equality matchers on <c>server_id</c>, <c>rule_id</c>
/// or <c>severity</c> narrow the listing first, so a silence for one server finds its alerts in any size of fleet.
/// The live preview, asked as the matchers are typed, reuses what it gathered for the same narrowing for 2 seconds
/// rather than reading every open incident again on each keystroke.
/// </summary>
public sealed class SilencePreview(IGrainFactory grains, IListingStore listings)
{
    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(2);
    private static readonly Dictionary<string, string> NarrowingLabels = new(StringComparer.Ordinal)
    {
        ["server_id"] = "serverId", ["rule_id"] = "ruleId", ["severity"] = "severity",
    };
    private sealed record Gathered(long At, string Narrowing, List<PreviewedAlert> Alerts);

    private Gathered? _recent;

    public async Task<List<PreviewedAlert>> RecentAsync(Dictionary<string, string>? narrowing = null)
    {
        var key = string.Join('\n', (narrowing ?? []).OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}"));
        if (Volatile.Read(ref _recent) is { } recent && recent.Narrowing == key && System.Diagnostics.Stopwatch.GetElapsedTime(recent.At) < Reuse) return recent.Alerts;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var alerts = await CurrentAsync(narrowing);
        Volatile.Write(ref _recent, new Gathered(started, key, alerts));
        return alerts;
    }

    /// <param name="narrowing">Listing fields the alerts must have (as <see cref="ListingQuery.Filter"/>), or none.</param>
    public async Task<List<PreviewedAlert>> CurrentAsync(Dictionary<string, string>? narrowing = null)
    {
        var found = new Dictionary<string, PreviewedAlert>(StringComparer.Ordinal);
        var open = (await grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync())
            .Where(i => i.Status != IncidentStatus.Resolved).OrderByDescending(i => i.UpdatedAt).Take(200).ToArray();
        foreach (var incident in await Task.WhenAll(open.Select(i => grains.GetGrain<IIncidentGrain>(i.Id).GetAsync())))
        {
            foreach (var m in incident?.Alerts ?? [])
            {
                if (m.Status == MemberStatus.Resolved) continue;
                found.TryAdd(m.AlertId, new PreviewedAlert(m.AlertId, m.ServerName.Length > 0 ? $"{m.RuleName} on {m.ServerName}" : m.RuleName,
                    m.Status.ToString().ToLowerInvariant(), m.Labels));
            }
        }
        var (alerts, _) = await listings.QueryAsync<AlertEntry>(new ListingQuery(500, 0)
        {
            Filter = narrowing ?? [],
            Exclude = new Dictionary<string, string> { ["status"] = "inactive" },
        });
        var missing = alerts.Where(a => a.Status != AlertStatus.Resolved && !found.ContainsKey(a.AlertId)).ToArray();
        foreach (var view in await Task.WhenAll(missing.Select(a => grains.GetGrain<IAlertGrain>(a.AlertId).GetAsync())))
        {
            if (view is null) continue;
            found.TryAdd(view.Id, new PreviewedAlert(view.Id, $"{view.RuleName} on {view.ServerId}", view.Status.ToString().ToLowerInvariant(),
                new Dictionary<string, string>(AlertLabels.Of(view.Id, view.RuleId, view.RuleName, view.ServerId, view.Severity, view.Labels))));
        }
        return [.. found.Values.OrderBy(a => a.AlertId, StringComparer.Ordinal)];
    }

    public async Task<List<PreviewedAlert>> MatchingAsync(Matcher[] matchers, bool live = false)
    {
        var narrowing = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var m in matchers)
        {
            if (m.Operator == MatchOperator.Equal && NarrowingLabels.TryGetValue(m.Name, out var field)) narrowing[field] = m.Value;
        }
        var gathered = await (live ? RecentAsync(narrowing) : CurrentAsync(narrowing));
        return [.. gathered.Where(a => matchers.All(m => m.Matches(a.Labels)))];
    }
}
