using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Rules;

namespace Monitoring.Api.Endpoints;

public static class RuleEndpoints
{
    public static void MapRuleEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/rules").WithTags("Rules")
            .Audited("rule", async (grains, id) => await grains.GetGrain<IAlertRuleGrain>(id).GetAsync() is { } r ? RuleResponse.From(r) : null);

        group.MapPost("/", async (RuleRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToRule(null, time.GetUtcNow(), errors) is not { } rule) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await grains.GetGrain<IAlertRuleGrain>(rule.Id).CreateAsync(rule), "rule", rule.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/rules/{rule.Id}", RuleResponse.From(rule));
        });

        // Rules are few, and the catalog holds them all: one call lists them.
        group.MapGet("/", async (IGrainFactory grains, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            var catalog = grains.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key);
            var rules = await catalog.GetAsync();
            var versions = await catalog.GetVersionsAsync();
            return TypedResults.Ok(new RuleListResponse([.. rules.Rules.Skip(skip).Take(take).Select(RuleResponse.From)], rules.Rules.Length, take, skip,
                rules.Version, versions.Applied, versions.Readers));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IAlertRuleGrain>(id).GetAsync() is { } rule
                ? TypedResults.Ok(RuleResponse.From(rule))
                : ProblemResults.NotFound("rule", id));

        group.MapPut("/{id}", async (string id, RuleRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (request.ToRule(id, time.GetUtcNow(), errors) is not { } rule) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await grains.GetGrain<IAlertRuleGrain>(id).UpdateAsync(rule), "rule", id) is { } problem) return problem;
            return TypedResults.Ok(RuleResponse.From(rule));
        });

        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<IAlertRuleGrain>(id).DeleteAsync() ? Results.NoContent() : ProblemResults.NotFound("rule", id));
    }
}
