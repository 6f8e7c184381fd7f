using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Settings;

namespace Monitoring.OnCall;

[GenerateSerializer, Alias("mcp.ScheduleState")]
public sealed class ScheduleState
{
    [Id(0), JsonPropertyName("Schedule")] public Schedule? Schedule { get; set; }

    /// <summary>Since when its gap alert fires (null while it does not), and when it was last said.</summary>
    [Id(1), JsonPropertyName("GapFiringSince")] public DateTimeOffset? GapFiringSince { get; set; }
    [Id(2), JsonPropertyName("GapSaidAt")] public DateTimeOffset? GapSaidAt { get; set; }

    /// <summary>Shift notices sent (person and shift start), kept until the shift has started; and their numbering.</summary>
    [Id(3), JsonPropertyName("Noticed")] public Dictionary<string, DateTimeOffset> Noticed { get; set; } = new(StringComparer.Ordinal);
    [Id(4), JsonPropertyName("NoticeSequence")] public int NoticeSequence { get; set; }
}

/// <summary>
/// One on-call schedule. <see cref="Rotation"/> answers who is on call from it; this grain checks and stores it: the
/// rules of a schedule (<see cref="Rotation.Check"/>), and that everyone it names is a user. With each change and each
/// reminder tick it looks 7 days ahead for gaps and raises or ends its gap alert (<see cref="GapWatch"/>).
/// </summary>
[GrainType("schedule")]
public sealed class ScheduleGrain(
    [PersistentState("schedule", StorageNames.Rules)] IPersistentState<ScheduleState> state,
    IListingStore listings,
    Channels.Delivery.ChannelRoutes channels,
    Microsoft.Extensions.Options.IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<ScheduleGrain> logger)
    : Grain, IScheduleGrain, IRemindable
{
    private const string GapReminder = "gaps";
    private GrainReminder? _reminder;

    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, GapReminder, options.Value.ReminderPeriod, logger);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Reminder.Ticked();
        await WatchGapsAsync();
        await NoticeShiftsAsync();
    }

    /// <summary>Shift notices are sent and forgotten: how they went is in the channel's delivery log.</summary>
    public Task ReportDeliveryAsync(Channels.DeliveryRecord record) => Task.CompletedTask;

    /// <summary>Tells each person coming on call within their lead time, once per shift, through their at-once contacts.</summary>
    private async Task NoticeShiftsAsync()
    {
        if (state.State.Schedule is not { } schedule) return;
        var now = time.GetUtcNow();
        var changed = false;
        foreach (var old in state.State.Noticed.Where(n => n.Value <= now).Select(n => n.Key).ToArray()) changed |= state.State.Noticed.Remove(old);
        var people = schedule.Layers.SelectMany(l => l.Users).Concat(schedule.Overrides.Select(o => o.User)).Distinct().ToArray();
        var users = (await listings.QueryAsync<UserEntry>(new ListingQuery(people.Length, 0) { Ids = people })).Items.ToDictionary(e => e.Id, e => e.User, StringComparer.Ordinal);
        foreach (var (userId, shift) in ShiftNotices.Due(schedule, now, id => users.GetValueOrDefault(id)?.ShiftNotice))
        {
            var key = ShiftNotices.Key(userId, shift);
            if (state.State.Noticed.ContainsKey(key)) continue;
            var user = users[userId];
            foreach (var rule in user.RulesInForce.Where(r => r.After == TimeSpan.Zero))
            {
                if (user.ContactMethods.FirstOrDefault(m => m.Id == rule.ContactMethod) is not { } method) continue;
                var message = ShiftNotices.Message(schedule, user, method, shift, ++state.State.NoticeSequence, this.GetGrainId().ToString(), now);
                try
                {
                    await channels.EnqueueAsync(method.Channel, message);
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Schedule {ScheduleId}: the shift notice to {User} by {Method} was not handed over", ScheduleId, userId, method.Id);
                }
            }
            state.State.Noticed[key] = shift.Start;
            changed = true;
            logger.LogInformation("Schedule {ScheduleId}: told {User} their shift starts at {Start:u}", ScheduleId, userId, shift.Start);
        }
        if (changed) await state.WriteStateAsync();
    }

    /// <summary>Raises, repeats or ends the gap alert; a schedule that is gone ends it and drops its reminder.</summary>
    private async Task WatchGapsAsync()
    {
        var now = time.GetUtcNow();
        var gaps = state.State.Schedule is { } schedule ? Rotation.Gaps(schedule, now, now + GapWatch.Horizon) : [];
        var (post, since, said) = GapWatch.Decide(ScheduleId, state.State.Schedule?.Name ?? ScheduleId, gaps, state.State.GapFiringSince, state.State.GapSaidAt, now);
        await Reminder.SyncAsync(state.State.Schedule is not null);
        if (post is null) return;
        try
        {
            await External.ExternalAlerts.Partition(GrainFactory, post.Fingerprint).AcceptAsync([post]);
            (state.State.GapFiringSince, state.State.GapSaidAt) = (since, said);
            if (state.State.Schedule is not null) await state.WriteStateAsync();
            if (gaps.Count > 0 && since == now) logger.LogWarning("Schedule {ScheduleId} has nobody on call in {Count} stretches of the next 7 days", ScheduleId, gaps.Count);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Schedule {ScheduleId}: its gap alert was not posted; the next tick tries again", ScheduleId);
        }
    }

    public const int MaxOverrides = 500;

    private string ScheduleId => this.GetPrimaryKeyString();

    public Task<WriteResult> CreateAsync(Schedule schedule) =>
        state.State.Schedule is not null ? Task.FromResult(WriteResult.Duplicate(ScheduleId)) : SaveAsync(schedule);

    public Task<WriteResult> UpdateAsync(Schedule schedule) =>
        state.State.Schedule is not { } known ? Task.FromResult(WriteResult.NotFound) : SaveAsync(schedule);

    public async Task<WriteResult> DeleteAsync()
    {
        if (state.State.Schedule is null) return WriteResult.NotFound;
        var policies = await OnCallUses.PoliciesUsingScheduleAsync(listings, ScheduleId);
        if (policies.Length > 0) return WriteResult.Conflict($"schedule '{ScheduleId}' is used by escalation policies: {string.Join(", ", policies)}; change those first");
        var gapSince = state.State.GapFiringSince;
        await GrainFactory.GetGrain<ICalendarFeedsGrain>($"schedule/{ScheduleId}").RevokeAllAsync(); // its secret URLs end with it
        await state.ClearStateAsync();
        state.State = new ScheduleState { GapFiringSince = gapSince };
        await listings.RemoveAsync<ScheduleEntry>(ScheduleId);
        await WatchGapsAsync(); // a gap alert of a schedule that is gone ends
        logger.LogInformation("Schedule {ScheduleId} deleted", ScheduleId);
        return WriteResult.Ok;
    }

    public Task<Schedule?> GetAsync() => Task.FromResult(state.State.Schedule);

    public Task<OnCallAnswer?> OnCallAsync(DateTimeOffset at) =>
        Task.FromResult(state.State.Schedule is { } schedule ? Rotation.Answer(schedule, at) : null);

    public Task<Shift[]?> ShiftsAsync(DateTimeOffset from, DateTimeOffset to) =>
        Task.FromResult(state.State.Schedule is { } schedule ? Rotation.Shifts(schedule, from, to).ToArray() : null);

    public Task<WriteResult> AddOverrideAsync(ScheduleOverride added)
    {
        if (state.State.Schedule is not { } schedule) return Task.FromResult(WriteResult.NotFound);
        if (schedule.Overrides.Any(o => o.Id == added.Id)) return Task.FromResult(WriteResult.Duplicate(added.Id));
        if (schedule.Overrides.Length >= MaxOverrides) return Task.FromResult(WriteResult.Invalid("overrides", $"a schedule keeps at most {MaxOverrides} overrides; remove past ones first"));
        return SaveAsync(schedule with { Overrides = [.. schedule.Overrides, added] }, $"overrides[{schedule.Overrides.Length}]", "");
    }

    public Task<WriteResult> RemoveOverrideAsync(string overrideId)
    {
        if (state.State.Schedule is not { } schedule || schedule.Overrides.All(o => o.Id != overrideId)) return Task.FromResult(WriteResult.NotFound);
        return SaveAsync(schedule with { Overrides = [.. schedule.Overrides.Where(o => o.Id != overrideId)] });
    }

    /// <param name="field">For an added override: the field its errors are under in the whole schedule, and what the caller calls it.</param>
    private async Task<WriteResult> SaveAsync(Schedule schedule, string? field = null, string? callerField = null)
    {
        if (schedule.Id != ScheduleId) return WriteResult.Invalid("id", $"the body's id '{schedule.Id}' differs from '{ScheduleId}'");
        var errors = Rotation.Check(schedule).ToList();
        var users = schedule.Layers.SelectMany((l, i) => l.Users.Select((u, j) => ($"layers[{i}].users[{j}]", u)))
            .Concat(schedule.Overrides.SelectMany((o, i) => new[] { ($"overrides[{i}].user", o.User) }.Concat(o.Replaces is { } r ? [($"overrides[{i}].replaces", r)] : [])));
        await UserLookup.AddUnknownAsync(GrainFactory, users, errors);
        if (field is not null)
        {
            // An override added on its own: its errors under its own names, and an overlap named by the other's id.
            errors = [.. errors.Where(e => e.Field.StartsWith(field, StringComparison.Ordinal))
                .Select(e => e with { Field = callerField + e.Field[field.Length..].TrimStart('.') is { Length: > 0 } f ? f : "override" })];
        }
        if (errors.Count > 0) return WriteResult.Invalid([.. errors]);
        state.State.Schedule = schedule with { UpdatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        await listings.UpsertAsync(new ScheduleEntry(state.State.Schedule));
        state.State.GapSaidAt = null; // a change is news: say the gap alert (with its new gaps) now
        await WatchGapsAsync();
        logger.LogInformation("Schedule {ScheduleId} saved: {Layers} layers, {Overrides} overrides", ScheduleId, schedule.Layers.Length, schedule.Overrides.Length);
        return WriteResult.Ok;
    }
}
