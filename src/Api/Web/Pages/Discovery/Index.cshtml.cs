using Microsoft.AspNetCore.Mvc;
using Monitoring.Discovery;
using Monitoring.Listings;

namespace Monitoring.Api.Web.Pages.Discovery;

/// <summary>Every discovery source: what it watches or polls, how many servers it registered, and whether it is failing; failing ones first.</summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public DiscoveryView[] Items { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var (entries, _) = await listings.QueryAsync<DiscoveryEntry>([], 1_000, 0);
        Items = [.. entries.Select(e => e.View).OrderBy(v => v.Status.Failures == 0).ThenBy(v => v.Source.Id, StringComparer.Ordinal)];
        return Page();
    }

    public static string Where(DiscoverySource s) => s.Kind == DiscoverySource.KubernetesKind
        ? $"{s.Role} in {(s.Namespaces.Length == 0 ? "all namespaces" : string.Join(", ", s.Namespaces))}{(s.LabelSelector is { } l ? $" ({l})" : "")} of {(s.Url.Length == 0 ? "this cluster" : s.Url)}"
        : $"{s.Url} every {Monitoring.Common.Durations.Format(s.Interval)}{(s.NamePattern is { } p ? $", names matching {p}" : "")}";
}
