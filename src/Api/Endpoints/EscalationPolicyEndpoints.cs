using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Escalation;
using Monitoring.Listings;

namespace Monitoring.Api.Endpoints;

public static class EscalationPolicyEndpoints
{
    public static void MapEscalationPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/escalation-policies").WithTags("Escalation policies")
            .Audited("escalation-policy", async (grains, id) => await grains.GetGrain<IEscalationPolicyGrain>(id).GetAsync() is { } p ? EscalationPolicyResponse.From(p) : null);

        group.MapPost("/", async (EscalationPolicyRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToPolicy(null, errors) is not { } policy) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IEscalationPolicyGrain>(policy.Id);
            if (ProblemResults.From(await grain.CreateAsync(policy), "escalation policy", policy.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/escalation-policies/{policy.Id}", await WithWarningsAsync(EscalationPolicyResponse.From((await grain.GetAsync())!), grains, time));
        });

        group.MapGet("/", async (IListingStore listings, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            return TypedResults.Ok(await Paging.PageAsync<PolicyEntry, EscalationPolicyResponse>(listings, [], take, skip, e => EscalationPolicyResponse.From(e.Policy)));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IEscalationPolicyGrain>(id).GetAsync() is { } policy
                ? TypedResults.Ok(EscalationPolicyResponse.From(policy))
                : ProblemResults.NotFound("escalation policy", id));

        group.MapPut("/{id}", async (string id, EscalationPolicyRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToPolicy(id, errors) is not { } policy) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IEscalationPolicyGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(policy), "escalation policy", id) is { } problem) return problem;
            return TypedResults.Ok(await WithWarningsAsync(EscalationPolicyResponse.From((await grain.GetAsync())!), grains, time));
        });

        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IEscalationPolicyGrain>(id).DeleteAsync(), "escalation policy", id) ?? Results.NoContent());
    }

    /// <summary>
    /// A policy may target a schedule that leaves hours uncovered: it is stored (a schedule changes), and the answer
    /// says which level would page nobody, and when, in the next 7 days.
    /// </summary>
    private static async Task<EscalationPolicyResponse> WithWarningsAsync(EscalationPolicyResponse policy, IGrainFactory grains, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var warnings = new List<string>();
        for (var level = 0; level < policy.Levels.Length; level++)
        {
            foreach (var id in policy.Levels[level].Schedules)
            {
                var gaps = (await grains.GetGrain<Monitoring.OnCall.IScheduleGrain>(id).ShiftsAsync(now, now + TimeSpan.FromDays(7)) ?? []).Where(s => s.Users.Length == 0).ToArray();
                if (gaps.Length == 0) continue;
                var total = TimeSpan.FromTicks(gaps.Sum(g => (g.End - g.Start).Ticks));
                warnings.Add($"levels[{level}]: schedule {id} has nobody on call for {Monitoring.Common.Durations.Format(total)} in the next 7 days, first from {gaps[0].Start:u} to {gaps[0].End:u}" +
                    (policy.Levels[level].Channels.Length + policy.Levels[level].Users.Length == 0 ? "; this level pages nobody then" : ""));
            }
        }
        return policy with { Warnings = [.. warnings] };
    }
}
