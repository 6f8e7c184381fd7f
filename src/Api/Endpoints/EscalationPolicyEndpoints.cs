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

        group.MapPost("/", async (EscalationPolicyRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToPolicy(null, errors) is not { } policy) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IEscalationPolicyGrain>(policy.Id);
            if (ProblemResults.From(await grain.CreateAsync(policy), "escalation policy", policy.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/escalation-policies/{policy.Id}", EscalationPolicyResponse.From((await grain.GetAsync())!));
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

        group.MapPut("/{id}", async (string id, EscalationPolicyRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToPolicy(id, errors) is not { } policy) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<IEscalationPolicyGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(policy), "escalation policy", id) is { } problem) return problem;
            return TypedResults.Ok(EscalationPolicyResponse.From((await grain.GetAsync())!));
        });

        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<IEscalationPolicyGrain>(id).DeleteAsync(), "escalation policy", id) ?? Results.NoContent());
    }
}
