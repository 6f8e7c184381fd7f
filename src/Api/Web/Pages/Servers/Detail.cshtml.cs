using Monitoring.Api.Security;
using Monitoring.Configuration;
using Microsoft.AspNetCore.Mvc;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Security;
using Monitoring.Servers;

namespace Monitoring.Api.Web.Pages.Servers;

/// <summary>One server: metrics now and over the window, its checks, tools, alerts and history.</summary>
public sealed class DetailModel(IListingStore listings, IAlertHistory history) : ConsolePage
{
    public ServerStatus Status { get; private set; } = null!;
    public AlertEntry[] Alerts { get; private set; } = [];
    public TransitionRow[] History { get; private set; } = [];

    /// <summary>The namespace whose document declares this server, or null when it was registered by hand.</summary>
    public string? Owner { get; private set; }

    /// <summary>The long-range summary over <see cref="SummaryWindow"/> (24h, 7d or 30d).</summary>
    public Monitoring.Api.Contracts.ServerSummaryResponse? Summary { get; private set; }

    public string SummaryWindow { get; private set; } = "24h";

    public async Task<IActionResult> OnGetAsync(string id, string? window)
    {
        if (await Grains.GetGrain<IMcpServerGrain>(id).GetStatusAsync() is not { } status) return NotFound();
        Status = status;
        SummaryWindow = window is not null && Monitoring.Api.Contracts.ServerSummaryResponse.Windows.ContainsKey(window) ? window : "24h";
        if (await Grains.GetGrain<IMcpServerGrain>(id).GetSummaryAsync(Monitoring.Api.Contracts.ServerSummaryResponse.Windows[SummaryWindow]) is { } summary)
        {
            Summary = Monitoring.Api.Contracts.ServerSummaryResponse.From(SummaryWindow, summary);
        }
        (Alerts, _) = await listings.QueryAsync<AlertEntry>(new Dictionary<string, string> { ["serverId"] = id }, 50, 0,
            new Dictionary<string, string> { ["status"] = "inactive" });
        (History, _) = await history.QueryAsync(new HistoryQuery(id, null, null, null, null, null, 20, 0));
        var key = ConfigKey.Server(id);
        Owner = (await Grains.GetGrain<IConfigGrain>(IConfigGrain.Key).GetNamespacesAsync()).FirstOrDefault(n => n.Owned.Contains(key))?.Name;
        return Page();
    }

    /// <summary>Runs the probe, scrape and health read now.</summary>
    public async Task<IActionResult> OnPostCheckAsync(string id)
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        if (await Grains.GetGrain<IMcpServerGrain>(id).CheckNowAsync() is null) return NotFound();
        Notice = "Checked now: the probe, scrape and health report below are fresh.";
        return Redirect($"/servers/{Uri.EscapeDataString(id)}");
    }

    /// <summary>An SVG polyline of requests per step and a bar per step's errors, scaled to the busiest step.</summary>
    public (string Requests, string Errors, long Max) Chart(int width, int height) =>
        Lines(Status.Series.Select(p => (p.Requests, p.Errors)).ToArray(), width, height);

    /// <summary>The same for the summary's hours.</summary>
    public (string Requests, string Errors, long Max) HourChart(int width, int height) =>
        Lines((Summary?.Hours ?? []).Select(p => (p.Requests, p.Errors)).ToArray(), width, height);

    private static (string Requests, string Errors, long Max) Lines((long Requests, long Errors)[] points, int width, int height)
    {
        if (points.Length == 0) return ("", "", 0);
        var max = Math.Max(1, points.Max(p => p.Requests));
        var step = (double)width / Math.Max(1, points.Length - 1);
        string Y(long v) => (height - 4 - (double)v / max * (height - 8)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
        string X(int i) => (i * step).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
        var requests = string.Join(' ', points.Select((p, i) => $"{X(i)},{Y(p.Requests)}"));
        var errors = string.Join(' ', points.Select((p, i) => $"{X(i)},{Y(p.Errors)}"));
        return (requests, errors, max);
    }
}
