using System.Security.Cryptography;
using Monitoring.Common;
using Monitoring.External;
using Monitoring.Listings;
using Monitoring.Settings;

namespace Monitoring.Heartbeats;

/// <summary>
/// One heartbeat check. Its pings come by its secret URL (through <see cref="IHeartbeatTokenGrain"/>); what they add up
/// to is <see cref="HeartbeatClock"/>'s. A timer wakes it when its status can next change by time alone, and a
/// reminder brings it back after its silo is lost. Down, it says an ordinary alert (alertname <c>HeartbeatDown</c>,
/// label <c>heartbeat</c>, its own labels, severity critical unless they say otherwise) as <see cref="SaidAlert"/> does.
/// </summary>
[GrainType("heartbeat")]
public sealed class HeartbeatGrain(
    [PersistentState("heartbeat", StorageNames.Rules)] IPersistentState<HeartbeatState> state,
    IListingStore listings,
    Microsoft.Extensions.Options.IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<HeartbeatGrain> logger)
    : Grain, IHeartbeatGrain, IRemindable
{
    public const string AlertName = "HeartbeatDown";
    public const int KeptPings = 20;
    private GrainReminder? _reminder;
    private DueTimer? _timer;

    private HeartbeatState S => state.State;
    private string CheckId => this.GetPrimaryKeyString();
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, "heartbeat", options.Value.ReminderPeriod, logger);
    private DueTimer Timer => _timer ??= new DueTimer(this, () => EvaluateAsync(write: false), time);

    public override Task OnActivateAsync(CancellationToken cancellationToken) => S.Check is null ? Task.CompletedTask : EvaluateAsync(write: false);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        await EvaluateAsync(write: false);
    }

    public async Task<(WriteResult Result, HeartbeatToken? Token)> CreateAsync(HeartbeatCheck check)
    {
        if (S.Check is not null) return (WriteResult.Duplicate(CheckId), null);
        if (Refusal(check) is { } refused) return (refused, null);
        S.Check = check with { UpdatedAt = time.GetUtcNow() };
        S.CreatedAt = time.GetUtcNow();
        var token = await NewTokenAsync();
        await EvaluateAsync(write: true);
        logger.LogInformation("Heartbeat {CheckId} made", CheckId);
        return (WriteResult.Ok, token);
    }

    public async Task<WriteResult> UpdateAsync(HeartbeatCheck check)
    {
        if (S.Check is null) return WriteResult.NotFound;
        if (Refusal(check) is { } refused) return refused;
        S.Check = check with { UpdatedAt = time.GetUtcNow() };
        await EvaluateAsync(write: true);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> DeleteAsync()
    {
        if (S.Check is null) return WriteResult.NotFound;
        if (S.TokenHash is { } hash) await GrainFactory.GetGrain<IHeartbeatTokenGrain>(hash).RevokeAsync();
        S.Check = null;
        await EvaluateAsync(write: false); // ends its alert
        await state.ClearStateAsync();
        state.State = new HeartbeatState();
        await listings.RemoveAsync<HeartbeatEntry>(CheckId);
        await Reminder.SyncAsync(false);
        Timer.Set(null);
        logger.LogInformation("Heartbeat {CheckId} deleted", CheckId);
        return WriteResult.Ok;
    }

    public Task<HeartbeatView?> GetAsync() => Task.FromResult(View(time.GetUtcNow()));

    public async Task<bool> PingAsync(PingKind kind, int? exitCode, string? log)
    {
        if (S.Check is null) return false;
        if (exitCode is { } code) kind = code == 0 ? PingKind.Success : PingKind.Fail;
        var ping = new HeartbeatPing(time.GetUtcNow(), kind, exitCode, log is { Length: > HeartbeatCheck.MaxLogLength } ? log[..HeartbeatCheck.MaxLogLength] : log);
        S.LastPing = ping;
        if (kind == PingKind.Success) S.LastSuccess = ping;
        S.Paused = false; // a ping resumes a paused check, as healthchecks.io does
        S.Pings.Add(ping);
        if (S.Pings.Count > KeptPings) S.Pings.RemoveRange(0, S.Pings.Count - KeptPings);
        await EvaluateAsync(write: true);
        return true;
    }

    public async Task<WriteResult> PauseAsync(bool paused)
    {
        if (S.Check is null) return WriteResult.NotFound;
        S.Paused = paused;
        await EvaluateAsync(write: true);
        return WriteResult.Ok;
    }

    public async Task<(WriteResult Result, HeartbeatToken? Token)> RotateTokenAsync()
    {
        if (S.Check is null) return (WriteResult.NotFound, null);
        if (S.TokenHash is { } old) await GrainFactory.GetGrain<IHeartbeatTokenGrain>(old).RevokeAsync();
        var token = await NewTokenAsync();
        await state.WriteStateAsync();
        return (WriteResult.Ok, token);
    }

    private static WriteResult? Refusal(HeartbeatCheck check) => HeartbeatClock.Check(check) is { Length: > 0 } errors ? WriteResult.Invalid(errors) : null;

    private async Task<HeartbeatToken> NewTokenAsync()
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        S.TokenHash = HeartbeatGrainKeys.TokenHash(token);
        await GrainFactory.GetGrain<IHeartbeatTokenGrain>(S.TokenHash).OpenAsync(CheckId);
        return new HeartbeatToken(token);
    }

    private HeartbeatView? View(DateTimeOffset now)
    {
        if (S.Check is not { } check) return null;
        var reading = HeartbeatClock.Read(check, S.CreatedAt, S.LastSuccess, S.LastPing, S.Paused, now);
        return new HeartbeatView(check, reading.Status, S.LastPing, reading.NextExpectedAt, reading.DownAt, S.Paused, [.. S.Pings]);
    }

    /// <summary>Reads the check now; says, repeats or ends its alert; lists it when its status changed; and sets its next wake-up.</summary>
    private async Task EvaluateAsync(bool write)
    {
        var now = time.GetUtcNow();
        var check = S.Check;
        var reading = check is null ? null : HeartbeatClock.Read(check, S.CreatedAt, S.LastSuccess, S.LastPing, S.Paused, now);
        var labels = check is null ? null : Labels(check);
        var changed = write;
        if (S.SaidLabels is { } said && S.FiringSince is not null && (labels is null || !said.OrderBy(p => p.Key).SequenceEqual(labels.OrderBy(p => p.Key))))
        {
            changed |= await SayAsync(said, Annotations(check, reading), holds: false, now); // the old alert ends with the labels it had
        }
        if (labels is not null) changed |= await SayAsync(labels, Annotations(check, reading), reading!.Status == HeartbeatStatus.Down, now);
        if (check is null) return;
        var view = View(now)!;
        if (ListedStatusDiffers(view) | changed) // not ||: the first notes what is listed now either way
        {
            S.Version++;
            if (changed) await state.WriteStateAsync();
            await ListAsync(view);
        }
        var reassert = S.FiringSince is not null && S.SaidAt is { } at ? at + SaidAlert.Reassert : (DateTimeOffset?)null;
        Timer.Set(new[] { reading!.NextChangeAfter(now), reassert }.Where(t => t is not null).Min());
        await Reminder.SyncAsync(true);
    }

    private HeartbeatStatus? _listed;

    /// <summary>The listing is a projection: one not written in time is written with the next step, which goes on.</summary>
    private async Task ListAsync(HeartbeatView view)
    {
        if (await listings.TryUpsertAsync(new HeartbeatEntry(view, S.Version)) is not { } failed) return;
        _listed = null;
        logger.LogWarning(failed, "Heartbeat {CheckId}: its listing entry could not be written; trying again with the next step", CheckId);
    }

    /// <summary>Whether the status the listing shows is not the one now (time alone moved it from up to late, say).</summary>
    private bool ListedStatusDiffers(HeartbeatView view)
    {
        var differs = _listed != view.Status;
        _listed = view.Status;
        return differs;
    }

    /// <summary>Says the alert if <see cref="SaidAlert"/> says to; answers whether the state changed.</summary>
    private async Task<bool> SayAsync(Dictionary<string, string> labels, Dictionary<string, string> annotations, bool holds, DateTimeOffset now)
    {
        var (post, since, said) = SaidAlert.Decide(labels, annotations, holds, S.FiringSince, S.SaidAt, now);
        if (post is null) return false;
        try
        {
            await ExternalAlerts.Partition(GrainFactory, post.Fingerprint).AcceptAsync([post]);
            if (holds && S.FiringSince is null) logger.LogWarning("Heartbeat {CheckId} is down: {Why}", CheckId, annotations["description"]);
            (S.FiringSince, S.SaidAt, S.SaidLabels) = (since, said, holds ? labels : null);
            return true;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Heartbeat {CheckId}: its alert was not posted; the next wake-up tries again", CheckId);
            return false;
        }
    }

    private static Dictionary<string, string> Labels(HeartbeatCheck check)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["severity"] = "critical" };
        foreach (var (name, value) in check.Labels) labels[name] = value;
        labels["alertname"] = AlertName;
        labels["heartbeat"] = check.Id;
        return labels;
    }

    private static Dictionary<string, string> Annotations(HeartbeatCheck? check, HeartbeatReading? reading) => new()
    {
        ["summary"] = check is null ? "Heartbeat deleted" : reading?.Status == HeartbeatStatus.Down ? $"Heartbeat {check.Name} is down" : $"Heartbeat {check.Name} is {reading?.Status.ToString().ToLowerInvariant()}",
        ["description"] = reading?.Why ?? "the check was deleted",
    };
}

[GenerateSerializer, Alias("mcp.HeartbeatTokenState")]
public sealed class HeartbeatTokenState
{
    [Id(0), JsonPropertyName("CheckId")] public string? CheckId { get; set; }
}

/// <summary>One ping URL, keyed by its token's hash (the token itself is never stored).</summary>
[GrainType("heartbeattoken")]
public sealed class HeartbeatTokenGrain([PersistentState("token", StorageNames.Rules)] IPersistentState<HeartbeatTokenState> state) : Grain, IHeartbeatTokenGrain
{
    public async Task OpenAsync(string checkId)
    {
        state.State.CheckId = checkId;
        await state.WriteStateAsync();
    }

    public async Task RevokeAsync()
    {
        await state.ClearStateAsync();
        state.State = new HeartbeatTokenState();
    }

    public Task<string?> CheckIdAsync() => Task.FromResult(state.State.CheckId);
}
