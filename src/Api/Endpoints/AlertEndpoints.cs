using Monitoring.Alerts;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Api.Security;
using Monitoring.Common;
using Monitoring.Listings;

namespace Monitoring.Api.Endpoints;

public static class AlertEndpoints
{
    public static void MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alerts").WithTags("Alerts");

        group.MapGet("/", async (IListingStore listings, string? status, string? severity, string? serverId, string? ruleId, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            var filter = new Dictionary<string, string>();
            if (status is not null)
            {
                if (Enum.TryParse<AlertStatus>(status, true, out var s) && Enum.IsDefined(s) && !int.TryParse(status, out _)) filter["status"] = s.ToString().ToLowerInvariant();
                else errors.Add("status", $"'{status}' is not a status; expected one of: {string.Join(", ", Enum.GetNames<AlertStatus>().Select(n => n.ToLowerInvariant()))}");
            }
            if (severity is not null)
            {
                if (Enum.TryParse<Severity>(severity, true, out var v) && Enum.IsDefined(v) && !int.TryParse(severity, out _)) filter["severity"] = v.ToString().ToLowerInvariant();
                else errors.Add("severity", $"'{severity}' is not a severity; expected one of: info, warning, critical, emergency");
            }
            if (serverId is not null) filter["serverId"] = serverId;
            if (ruleId is not null) filter["ruleId"] = ruleId;
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());

            // Inactive entries are alerts that went pending and cleared; they are listed only when asked for.
            var exclude = status is null ? new Dictionary<string, string> { ["status"] = "inactive" } : null;
            var (items, total) = await listings.QueryAsync<AlertEntry>(filter, take, skip, exclude);
            return TypedResults.Ok(new Page<AlertSummaryResponse>([.. items.Select(AlertSummaryResponse.From)], total, take, skip));
        });

        // Served by the history store (SQL in production), not by grains: every transition ever, filtered and paged.
        group.MapGet("/history", async (History.IAlertHistory history, string? serverId, string? ruleId, string? severity, string? status,
            DateTimeOffset? from, DateTimeOffset? to, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (severity is not null && !(Enum.TryParse<Severity>(severity, true, out var v) && Enum.IsDefined(v) && !int.TryParse(severity, out _)))
            {
                errors.Add("severity", $"'{severity}' is not a severity; expected one of: info, warning, critical, emergency");
            }
            if (status is not null && !(Enum.TryParse<AlertStatus>(status, true, out var s) && Enum.IsDefined(s) && !int.TryParse(status, out _)))
            {
                errors.Add("status", $"'{status}' is not a status; expected one of: {string.Join(", ", Enum.GetNames<AlertStatus>().Select(n => n.ToLowerInvariant()))}");
            }
            if (from is not null && to is not null && from >= to) errors.Add("from", "must be before 'to'");
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip) || errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var (rows, total) = await history.QueryAsync(new History.HistoryQuery(
                serverId, ruleId, severity?.ToLowerInvariant(), status?.ToLowerInvariant(), from, to, take, skip));
            return TypedResults.Ok(new Page<HistoryResponse>([.. rows.Select(HistoryResponse.Of)], (int)total, take, skip));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains, TimeProvider time) =>
            AlertIds.TryParse(id, out _, out _) && await AlertCommands.ViewAsync(grains, id, time) is { } alert
                ? TypedResults.Ok(AlertResponse.From(alert))
                : ProblemResults.NotFound("alert", id));

        group.MapGet("/{id}/notifications", async (string id, IGrainFactory grains) =>
        {
            if (!AlertIds.TryParse(id, out _, out _)) return ProblemResults.NotFound("alert", id);
            var alert = grains.GetGrain<IAlertGrain>(id);
            if (await alert.GetAsync() is null) return ProblemResults.NotFound("alert", id);
            return TypedResults.Ok(Page<DeliveryResponse>.All([.. (await alert.GetNotificationsAsync()).Select(DeliveryResponse.From)]));
        });

        group.MapPost("/{id}/ack", async (string id, AlertActionRequest? request, IGrainFactory grains, HttpContext http, TimeProvider time) =>
            ByProblem(request?.By) ?? await ActAsync(id, grains, time, () => AlertCommands.AcknowledgeAsync(grains, id, Actor(http, request?.By))));

        group.MapPost("/{id}/resolve", async (string id, AlertActionRequest? request, IGrainFactory grains, HttpContext http, TimeProvider time) =>
            ByProblem(request?.By) ?? await ActAsync(id, grains, time, () => AlertCommands.ResolveAsync(grains, id, Actor(http, request?.By))));

        group.MapPost("/{id}/suppress", async (string id, SuppressRequest request, IGrainFactory grains, HttpContext http, TimeProvider time) =>
        {
            if (!Durations.TryParse(request.Duration, out var duration, out var error))
            {
                return ProblemResults.Invalid([new FieldError("duration", error)]);
            }
            if (ByProblem(request.By) is { } byProblem) return byProblem;
            return await ActAsync(id, grains, time, () => AlertCommands.SuppressAsync(grains, id, duration, Actor(http, request.By)));
        });
    }

    /// <summary>Who acts is free text: bounded, one line.</summary>
    public const int MaxByLength = 200;

    /// <summary>Who acts: a person's key acts as that person, whatever the body says; any other key as the body's "by".</summary>
    public static string? Actor(HttpContext http, string? by) => http.User.PersonOf() is not null ? http.User.ActorOf() : by;

    public static IResult? ByProblem(string? by) =>
        by is not null && (by.Length > MaxByLength || by.Any(char.IsControl))
            ? ProblemResults.Invalid([new FieldError("by", $"is at most {MaxByLength} characters on one line: who acts")])
            : null;

    /// <summary>Acts, then answers the alert as <c>GET</c> shows it (with its server's latest values).</summary>
    private static async Task<IResult> ActAsync(string id, IGrainFactory grains, TimeProvider time, Func<Task<WriteResult>> action)
    {
        if (!AlertIds.TryParse(id, out _, out _)) return ProblemResults.NotFound("alert", id);
        if (ProblemResults.From(await action(), "alert", id) is { } problem) return problem;
        return TypedResults.Ok(AlertResponse.From((await AlertCommands.ViewAsync(grains, id, time))!));
    }
}
