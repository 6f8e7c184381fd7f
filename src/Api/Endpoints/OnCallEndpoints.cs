using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Listings;
using Monitoring.OnCall;

namespace Monitoring.Api.Endpoints;

/// <summary>People, schedules and who is on call: <c>/api/users</c>, <c>/api/schedules</c>, <c>/api/oncall</c>.</summary>
public static class OnCallEndpoints
{
    private static readonly TimeSpan DefaultShifts = TimeSpan.FromDays(14);

    public static void MapOnCallEndpoints(this IEndpointRouteBuilder app)
    {
        MapUsers(app);
        MapSchedules(app);
        app.MapGet("/api/oncall", async (IListingStore listings, IGrainFactory grains, TimeProvider time, DateTimeOffset? at) =>
        {
            var when = at ?? time.GetUtcNow();
            return TypedResults.Ok(new { at = when, items = (await EveryoneAsync(listings, grains, when)).Select(OnCallResponse.From).ToArray() });
        }).WithTags("On call");
    }

    private static void MapUsers(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/users").WithTags("On call")
            .Audited("user", async (grains, id) => await grains.GetGrain<IUserGrain>(id).GetAsync() is { } u ? UserResponse.From(u) : null);
        group.MapPost("/", async (UserRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToUser(null, errors) is not { } user) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IUserGrain>(user.Id);
            if (ProblemResults.From(await grain.CreateAsync(user), "user", user.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/users/{user.Id}", UserResponse.From((await grain.GetAsync())!));
        });
        group.MapGet("/", async (IListingStore listings, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            return TypedResults.Ok(await Paging.PageAsync<UserEntry, UserResponse>(listings, [], take, skip, e => UserResponse.From(e.User)));
        });
        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IUserGrain>(id).GetAsync() is { } user ? TypedResults.Ok(UserResponse.From(user)) : ProblemResults.NotFound("user", id));
        group.MapPut("/{id}", async (string id, UserRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToUser(id, errors) is not { } user) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IUserGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(user), "user", id) is { } problem) return problem;
            return TypedResults.Ok(UserResponse.From((await grain.GetAsync())!));
        });
        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IUserGrain>(id).DeleteAsync(), "user", id) ?? Results.NoContent());
    }

    private static void MapSchedules(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/schedules").WithTags("On call")
            .Audited("schedule", async (grains, id) => await grains.GetGrain<IScheduleGrain>(id).GetAsync() is { } s ? ScheduleResponse.From(s) : null);
        group.MapPost("/", async (ScheduleRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToSchedule(null, errors) is not { } schedule) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IScheduleGrain>(schedule.Id);
            if (ProblemResults.From(await grain.CreateAsync(schedule), "schedule", schedule.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/schedules/{schedule.Id}", ScheduleResponse.From((await grain.GetAsync())!));
        });
        group.MapGet("/", async (IListingStore listings, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            return TypedResults.Ok(await Paging.PageAsync<ScheduleEntry, ScheduleResponse>(listings, [], take, skip, e => ScheduleResponse.From(e.Schedule)));
        });
        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IScheduleGrain>(id).GetAsync() is { } schedule ? TypedResults.Ok(ScheduleResponse.From(schedule)) : ProblemResults.NotFound("schedule", id));
        group.MapPut("/{id}", async (string id, ScheduleRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            var grain = grains.GetGrain<IScheduleGrain>(id);
            var known = await grain.GetAsync();
            if (request.ToSchedule(id, errors, known?.Overrides) is not { } schedule) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await grain.UpdateAsync(schedule), "schedule", id) is { } problem) return problem;
            return TypedResults.Ok(ScheduleResponse.From((await grain.GetAsync())!));
        });
        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IScheduleGrain>(id).DeleteAsync(), "schedule", id) ?? Results.NoContent());

        group.MapPost("/{id}/overrides", async (string id, OverrideRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToOverride("", errors) is not { } added) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IScheduleGrain>(id);
            if (ProblemResults.From(await grain.AddOverrideAsync(added), "schedule", id) is { } problem) return problem;
            return TypedResults.Created($"/api/schedules/{id}/overrides/{added.Id}", OverrideResponse.From(added));
        });
        group.MapDelete("/{id}/overrides/{overrideId}", async (string id, string overrideId, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IScheduleGrain>(id).RemoveOverrideAsync(overrideId), "override", $"{id}/{overrideId}") ?? Results.NoContent());

        group.MapGet("/{id}/oncall", async (string id, DateTimeOffset? at, IGrainFactory grains, TimeProvider time) =>
            await grains.GetGrain<IScheduleGrain>(id).OnCallAsync(at ?? time.GetUtcNow()) is { } answer
                ? TypedResults.Ok(OnCallResponse.From(answer))
                : ProblemResults.NotFound("schedule", id));
        group.MapGet("/{id}/shifts", async (string id, DateTimeOffset? from, DateTimeOffset? to, IGrainFactory grains, TimeProvider time) =>
        {
            var start = from ?? time.GetUtcNow();
            var end = to ?? start + DefaultShifts;
            if (end <= start) return ProblemResults.Invalid([new("to", $"must be after from ({start:O})")]);
            if (end - start > ScheduleLimits.MaxSpan) return ProblemResults.Invalid([new("to", $"at most {ScheduleLimits.MaxSpan.TotalDays} days after from")]);
            var grain = grains.GetGrain<IScheduleGrain>(id);
            if (await grain.GetAsync() is not { } schedule || await grain.ShiftsAsync(start, end) is not { } shifts) return ProblemResults.NotFound("schedule", id);
            return TypedResults.Ok(new ShiftsResponse(id, schedule.TimeZone, start, end, [.. shifts.Select(ShiftResponse.From)]));
        });
    }

    /// <summary>Who is on call at a moment in every schedule, by id.</summary>
    public static async Task<OnCallAnswer[]> EveryoneAsync(IListingStore listings, IGrainFactory grains, DateTimeOffset at)
    {
        var ids = (await listings.QueryAsync<ScheduleEntry>([], 100_000, 0)).Items.Select(e => e.Id).Order(StringComparer.Ordinal);
        var answers = await Task.WhenAll(ids.Select(id => grains.GetGrain<IScheduleGrain>(id).OnCallAsync(at)));
        return [.. answers.OfType<OnCallAnswer>()];
    }
}
