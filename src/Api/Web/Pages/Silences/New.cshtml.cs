using Monitoring.Api.Security;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Security;
using Monitoring.Silences;

namespace Monitoring.Api.Web.Pages.Silences;

/// <summary>A new silence: matchers one per line, a length and a comment, with a live preview of the alerts it would mute.</summary>
public sealed class NewModel(SilencePreview previews) : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Matchers { get; set; }
    [BindProperty(SupportsGet = true)] public string Duration { get; set; } = "2h";
    [BindProperty] public string? Comment { get; set; }

    public string[] Errors { get; private set; } = [];
    public List<PreviewedAlert>? Preview { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        if (!string.IsNullOrWhiteSpace(Matchers)) await PreviewAsync(live: false);
        return Page();
    }

    /// <summary>The preview alone, for the page's script to swap in as the matchers are typed.</summary>
    public async Task<IActionResult> OnGetPreviewAsync()
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        await PreviewAsync(live: true);
        return Partial("_Preview", this);
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (Demand(Role.Operator) is { } refused) return refused;
        var errors = new RequestErrors();
        var id = Guid.NewGuid().ToString("N");
        var request = new SilenceRequest(MatcherArray(), null, null, Duration, User.ActorOf(), Comment, false);
        if (request.ToSilence(id, Now, errors) is not { } silence)
        {
            Errors = [.. errors.ToArray().Select(e => $"{e.Field}: {e.Message}")];
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await PreviewAsync(live: false);
            return Page();
        }
        var result = await Grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).CreateAsync(silence);
        if (!result.Succeeded)
        {
            Errors = [.. result.Errors.Select(e => $"{e.Field}: {e.Message}")];
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        await AuditAsync("create silence", "silence", id, null, SilenceResponse.From(silence, Now));
        Notice = $"Silenced {string.Join(", ", silence.Matchers.Select(m => m.ToString()))} until {Show.Time(silence.EndsAt)}.";
        return Redirect("/silences");
    }

    private string[] Lines() => (Matchers ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private JsonElement? MatcherArray() => Lines() is { Length: > 0 } lines ? JsonSerializer.SerializeToElement(lines) : null;

    private async Task PreviewAsync(bool live)
    {
        var matchers = new List<Matcher>();
        var errors = new List<string>();
        foreach (var (line, i) in Lines().Select((l, i) => (l, i)))
        {
            if (i >= SilenceRequest.MaxMatchers) { errors.Add($"at most {SilenceRequest.MaxMatchers} matchers"); break; }
            if (MatcherText.TryParse(line, out var matcher, out var error)) matchers.Add(matcher);
            else errors.Add($"line {i + 1}: {error}");
        }
        if (errors.Count > 0 || matchers.Count == 0)
        {
            Errors = [.. Errors, .. errors];
            Preview = null;
            if (errors.Count > 0) Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        Preview = await previews.MatchingAsync([.. matchers], live);
    }
}
