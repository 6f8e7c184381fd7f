using Microsoft.AspNetCore.Http.HttpResults;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;

namespace Monitoring.Api.Audit;

/// <summary>
/// Records every configuration change: who (the key's name), what (method, route, resource), when, and the resource
/// before and after as the API shows it, so secrets are already redacted. Applied to each configuration group with
/// the way to read its resource.
/// </summary>
public static class Audit
{
    /// <summary>Writes in audited groups that change no configuration: telemetry, checks and test messages.</summary>
    private static readonly string[] NotConfiguration = ["/telemetry", "/check", "/test"];

    public static RouteGroupBuilder Audited(this RouteGroupBuilder group, string kind, Func<IGrainFactory, string, Task<object?>> read)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var pattern = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "";
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || NotConfiguration.Any(pattern.EndsWith))
            {
                return await next(context);
            }
            var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
            var routeId = http.Request.RouteValues["id"] as string;
            var before = routeId is null ? null : await read(grains, routeId);
            var result = await next(context);
            if (result is IStatusCodeHttpResult { StatusCode: >= 400 } or ProblemHttpResult)
            {
                return result; // refused: nothing changed
            }
            var id = routeId ?? (result as IValueHttpResult)?.Value?.GetType().GetProperty("Id")?.GetValue((result as IValueHttpResult)!.Value) as string ?? "";
            var after = id.Length == 0 ? null : await read(grains, id);
            var route = pattern.Length > 0 ? pattern : http.Request.Path.Value ?? "";
            await http.RequestServices.GetRequiredService<IAuditLog>().AppendAsync(
                http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(), Actors.Of(http.User),
                $"{http.Request.Method} {route}", kind, id, before, after);
            return result;
        });
        return group;
    }

    public sealed record AuditResponse(long Id, DateTimeOffset At, string Actor, string Action, string Kind, string ResourceId, System.Text.Json.JsonElement? Before, System.Text.Json.JsonElement? After);

    public static void MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", async (IAuditLog audit, string? kind, string? resourceId, string? actor, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            var (entries, total) = await audit.QueryAsync(new AuditQuery(kind, resourceId, actor, take, skip));
            return TypedResults.Ok(new Page<AuditResponse>(
                [.. entries.Select(e => new AuditResponse(e.Id, e.At, e.Actor, e.Action, e.Kind, e.ResourceId, e.Before, e.After))], (int)total, take, skip));
        }).WithTags("Audit");
    }
}
