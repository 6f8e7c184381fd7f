using Monitoring.Common;
using Monitoring.External;
using Monitoring.Listings;
using Monitoring.Servers;
using Monitoring.Settings;

namespace Monitoring.Slo;

[GenerateSerializer, Alias("mcp.SloState")]
public sealed class SloState
{
    [Id(0), JsonPropertyName("Definition")] public SloDefinition? Definition { get; set; }
    [Id(1), JsonPropertyName("Version")] public long Version { get; set; }

    /// <summary>What each alert of the objective last said, by row and urgency (<see cref="SloAlerts.Key"/>).</summary>
    [Id(2), JsonPropertyName("Said")] public Dictionary<string, SloSaid> Said { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One service-level objective. Every <see cref="MonitoringOptions.SloEvaluationInterval"/> it lists the servers its
/// selector picks, asks each for its history's totals over the objective's window and the burn windows (the data stays
/// where it lives), reads them with <see cref="SloMath"/>, keeps the rows for the API, and says its alerts as
/// <see cref="SloAlerts"/> decides, through the Alertmanager-API path and so the routing tree. A reminder brings it back
/// after its silo is lost.
/// </summary>
[GrainType("slo")]
public sealed class SloGrain(
    [PersistentState("slo", StorageNames.Rules)] IPersistentState<SloState> state,
    IListingStore listings,
    Microsoft.Extensions.Options.IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<SloGrain> logger)
    : Grain, ISloGrain, IRemindable
{
    private const int Page = 500;
    private const int Parallel = 64;
    private GrainReminder? _reminder;
    private DueTimer? _timer;
    private SloView? _last;

    private SloState S => state.State;
    private string SloId => this.GetPrimaryKeyString();
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, "slo", options.Value.ReminderPeriod, logger);
    private DueTimer Timer => _timer ??= new DueTimer(this, () => EvaluateAsync(), time);

    public override Task OnActivateAsync(CancellationToken cancellationToken) => S.Definition is null ? Task.CompletedTask : EvaluateAsync();

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        if (S.Definition is null) await Reminder.SyncAsync(false);
    }

    public async Task<WriteResult> CreateAsync(SloDefinition definition)
    {
        if (S.Definition is not null) return WriteResult.Duplicate(SloId);
        return await WriteAsync(definition);
    }

    public async Task<WriteResult> UpdateAsync(SloDefinition definition)
    {
        if (S.Definition is null) return WriteResult.NotFound;
        return await WriteAsync(definition);
    }

    private async Task<WriteResult> WriteAsync(SloDefinition definition)
    {
        if (SloRules.Check(definition) is { Length: > 0 } errors) return WriteResult.Invalid(errors);
        S.Definition = definition with { UpdatedAt = time.GetUtcNow() };
        S.Version++;
        await state.WriteStateAsync();
        await EvaluateAsync();
        logger.LogInformation("Objective {SloId} written", SloId);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> DeleteAsync()
    {
        if (S.Definition is null) return WriteResult.NotFound;
        S.Definition = null;
        await SayAsync(null, [], time.GetUtcNow()); // ends what it said
        await state.ClearStateAsync();
        state.State = new SloState();
        _last = null;
        await listings.RemoveAsync<SloEntry>(SloId);
        await Reminder.SyncAsync(false);
        Timer.Set(null);
        logger.LogInformation("Objective {SloId} deleted", SloId);
        return WriteResult.Ok;
    }

    public Task<SloView?> GetAsync() => Task.FromResult(S.Definition is { } d ? _last ?? new SloView(d, null, [], 0) : null);

    public async Task<SloView?> EvaluateNowAsync()
    {
        await EvaluateAsync();
        return await GetAsync();
    }

    /// <summary>Reads every selected server now, says what the readings call for, lists the objective, and sets the next round.</summary>
    private async Task EvaluateAsync()
    {
        if (S.Definition is not { } slo) return;
        var now = time.GetUtcNow();
        try
        {
            var answers = await AnswersAsync(slo);
            var rows = new List<SloRow>();
            if (slo.Aggregate) rows.Add(new SloRow(null, SloMath.Read(slo, SloMath.Sum(answers.Values, SloMath.BurnWindows.Length + 1))));
            else rows.AddRange(answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => new SloRow(a.Key, SloMath.Read(slo, a.Value))));
            await SayAsync(slo, rows, now);
            var firing = S.Said.Values.Count(s => s.FiringSince is not null);
            _last = new SloView(slo, now, [.. rows.OrderBy(r => r.Reading.BudgetRemaining ?? double.MaxValue)], firing);
            await listings.UpsertAsync(new SloEntry(slo, now, _last.WorstBudget, answers.Count, firing, now.UtcTicks));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Objective {SloId}: this round could not be evaluated; the next one tries again", SloId);
        }
        Timer.Set(now + options.Value.SloEvaluationInterval);
        await Reminder.SyncAsync(true);
    }

    /// <summary>Each selected server's answer, asked a page at a time and a few dozen at once.</summary>
    private async Task<Dictionary<string, HistoryAnswer>> AnswersAsync(SloDefinition slo)
    {
        var query = SloMath.Query(slo);
        var matchers = slo.Selector.Select(s => new Silences.Matcher(s.Key, Silences.MatchOperator.Equal, s.Value)).ToArray();
        var answers = new Dictionary<string, HistoryAnswer>(StringComparer.Ordinal);
        for (var skip = 0; ; skip += Page)
        {
            var (servers, total) = await listings.QueryAsync<ServerEntry>(new ListingQuery(Page, skip) { Matchers = matchers });
            foreach (var chunk in servers.Where(s => slo.Selects(s.Server.Labels)).Chunk(Parallel))
            {
                var asked = await Task.WhenAll(chunk.Select(async s => (s.Id, Answer: await GrainFactory.GetGrain<IMcpServerGrain>(s.Id).GetHistoryAsync(query))));
                foreach (var (id, answer) in asked)
                {
                    if (answer is not null) answers[id] = answer;
                }
            }
            if (servers.Length < Page || skip + Page >= total) break;
        }
        return answers;
    }

    private async Task SayAsync(SloDefinition? slo, IReadOnlyList<SloRow> rows, DateTimeOffset now)
    {
        var changed = false;
        foreach (var (key, post, after) in SloAlerts.Decide(slo, rows, S.Said, now))
        {
            try
            {
                await ExternalAlerts.Partition(GrainFactory, post.Fingerprint).AcceptAsync([post]);
                if (after.FiringSince is null && after.Labels is null) S.Said.Remove(key);
                else S.Said[key] = after;
                changed = true;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Objective {SloId}: an alert was not posted; the next round tries again", SloId);
            }
        }
        if (changed && S.Definition is not null) await state.WriteStateAsync();
    }
}
