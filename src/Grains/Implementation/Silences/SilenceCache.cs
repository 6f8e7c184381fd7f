namespace Monitoring.Silences;

/// <summary>
/// This silo's copy of the silences. Each lookup asks the catalog whether its version moved (an interleaved call that
/// answers null when nothing changed) and matches locally, so a new or expired silence counts from the next
/// notification on, in every silo.
/// </summary>
public sealed class SilenceCache
{
    private SilenceSet _set = SilenceSet.Empty;

    /// <summary>The active silences matching these labels, latest-ending first.</summary>
    public async Task<Silence[]> MatchingAsync(IGrainFactory grains, IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        var known = Volatile.Read(ref _set);
        if (await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(known.Version) is { } fresh
            && fresh.Version > known.Version)
        {
            Interlocked.CompareExchange(ref _set, fresh, known);
            known = fresh;
        }
        return [.. known.Silences.Where(s => s.IsActiveAt(now) && s.Matches(labels)).OrderByDescending(s => s.EndsAt)];
    }
}
