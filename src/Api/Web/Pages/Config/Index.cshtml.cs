using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Contracts;
using Monitoring.Configuration;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Rules;

namespace Monitoring.Api.Web.Pages.Config;

/// <summary>
/// Read-only views of the configuration: rules, routes (with "which route gets this label set"), channels (secrets
/// redacted as the API redacts them), escalation policies, time intervals and inhibitions, each with the namespace whose
/// document owns it; and the namespaces themselves. Changes go through the API or a document; a resource a document owns
/// may still be edited by hand, and its next plan shows the drift.
/// </summary>
public sealed class IndexModel(IListingStore listings) : ConsolePage
{
    public static readonly string[] Sections = ["rules", "routes", "channels", "policies", "intervals", "inhibitions", "namespaces"];
    public static readonly JsonSerializerOptions Pretty = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    [BindProperty(SupportsGet = true)] public string? Section { get; set; }
    [BindProperty(SupportsGet = true)] public string? Labels { get; set; }

    public RuleResponse[] Rules { get; private set; } = [];
    public RoutingSet Routing { get; private set; } = RoutingSet.Empty;
    public ChannelResponse[] Channels { get; private set; } = [];
    public EscalationPolicyResponse[] Policies { get; private set; } = [];
    public RouteMatch[]? Matches { get; private set; }
    public string[] Errors { get; private set; } = [];
    public ConfigNamespace[] Namespaces { get; private set; } = [];
    private Dictionary<ConfigKey, string> _owners = [];

    /// <summary>The namespace whose document owns the resource, or null when it was made by hand.</summary>
    public string? OwnerOf(ConfigKey key) => _owners.GetValueOrDefault(key);

    public async Task<IActionResult> OnGetAsync()
    {
        Section = string.IsNullOrEmpty(Section) ? "rules" : Section;
        if (!Sections.Contains(Section)) return NotFound();
        Namespaces = [.. (await Grains.GetGrain<IConfigGrain>(IConfigGrain.Key).GetNamespacesAsync()).OrderBy(n => n.Name, StringComparer.Ordinal)];
        _owners = Namespaces.SelectMany(n => n.Owned.Select(k => (k, n.Name))).GroupBy(o => o.k).ToDictionary(g => g.Key, g => g.First().Name);
        switch (Section)
        {
            case "rules":
                Rules = [.. (await Grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync()).Rules.Select(RuleResponse.From)];
                break;
            case "channels":
                Channels = [.. (await listings.QueryAsync<ChannelEntry>(new ListingQuery(500, 0))).Items.Select(e => ChannelResponse.From(e.Channel))];
                break;
            case "policies":
                Policies = [.. (await listings.QueryAsync<PolicyEntry>(new ListingQuery(500, 0))).Items.Select(e => EscalationPolicyResponse.From(e.Policy))];
                break;
            case "namespaces":
                break;
            default:
                Routing = await Grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(-1) ?? RoutingSet.Empty;
                if (Section == "routes" && !string.IsNullOrWhiteSpace(Labels)) Test();
                break;
        }
        return Page();
    }

    /// <summary>Like <c>amtool config routes test</c>: the routes, receivers and incidents a label set would get.</summary>
    private void Test()
    {
        var set = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var (line, i) in Labels!.Split(['\n', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select((l, i) => (l, i)))
        {
            var eq = line.IndexOf('=');
            if (i >= 64) { errors.Add("at most 64 labels"); break; }
            if (eq <= 0 || !RoutingReader.IsLabelName(line[..eq].Trim()) || line.Length > 1200) errors.Add($"'{(line.Length > 60 ? line[..60] + "…" : line)}' is not name=value");
            else set[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"');
        }
        Errors = [.. errors];
        if (errors.Count == 0) Matches = [.. RouteTree.Match(Routing.Root, set)];
        else Response.StatusCode = StatusCodes.Status400BadRequest;
    }

    public static string Json(object value) => JsonSerializer.Serialize(value, Pretty);
}
