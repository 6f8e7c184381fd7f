using System.Text.Json;
using Monitoring.Alerts;
using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Routing;

namespace Monitoring.Api.Endpoints;

/// <summary>The routing tree and receivers, time intervals, inhibition rules, and the incidents they make.</summary>
public static class RoutingEndpoints
{
    public static void MapRoutingEndpoints(this IEndpointRouteBuilder app)
    {
        var routing = app.MapGroup("/api/routing").WithTags("Routing")
            .Audited("routing", async (grains, _) => RoutingResponse.From(await SetAsync(grains)));

        routing.MapGet("/", async (IGrainFactory grains) => TypedResults.Ok(RoutingResponse.From(await SetAsync(grains))));

        routing.MapPut("/", async (JsonElement body, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (RoutingReader.ReadTree(body, errors) is not { } tree) return ProblemResults.Invalid(errors.ToArray());
            await CheckReferencesAsync(tree.Receivers, grains, errors);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            if (ProblemResults.From(await Grain(grains).SetTreeAsync(tree.Root, tree.Receivers), "routing", "tree") is { } problem) return problem;
            return TypedResults.Ok(RoutingResponse.From(await SetAsync(grains)));
        });

        // Like `amtool config routes test`: which routes, receivers and incidents a label set would get.
        routing.MapPost("/test", async (JsonElement body, IGrainFactory grains) =>
        {
            const string usage = "is required: an object of up to 64 label names to string values, e.g. {\"labels\":{\"severity\":\"critical\"}}";
            if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
            {
                return ProblemResults.Invalid([new FieldError("labels", usage)]);
            }
            var errors = new RequestErrors();
            foreach (var member in body.EnumerateObject().Where(m => m.Name != "labels")) errors.Add(member.Name.Length <= 64 ? member.Name : member.Name[..64] + "…", "is not a known field; expected: labels");
            var set = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var label in labels.EnumerateObject())
            {
                var name = label.Name.Length <= 64 ? label.Name : label.Name[..64] + "…";
                if (label.Name.Length > 128 || !RoutingReader.IsLabelName(label.Name)) errors.Add($"labels.{name}", "is not a label name (letters, digits and _, at most 128)");
                else if (label.Value.ValueKind != JsonValueKind.String || label.Value.GetString()!.Length > 1024) errors.Add($"labels.{name}", "must be a string of at most 1024 characters");
                else set[label.Name] = label.Value.GetString()!;
            }
            if (set.Count > 64) errors.Add("labels", usage);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            return TypedResults.Ok(new { routes = RouteTree.Match((await SetAsync(grains)).Root, set).Select(RouteTestResponse.From).ToArray() });
        });

        var intervals = app.MapGroup("/api/time-intervals").WithTags("Routing")
            .Audited("time-interval", async (grains, name) => (await SetAsync(grains)).TimeIntervals.FirstOrDefault(t => t.Name == name) is { } t ? TimeIntervalResponse.From(t) : null);
        intervals.MapGet("/", async (IGrainFactory grains) =>
            TypedResults.Ok(Page<TimeIntervalResponse>.All([.. (await SetAsync(grains)).TimeIntervals.OrderBy(t => t.Name, StringComparer.Ordinal).Select(TimeIntervalResponse.From)])));
        intervals.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            (await SetAsync(grains)).TimeIntervals.FirstOrDefault(t => t.Name == id) is { } t ? TypedResults.Ok(TimeIntervalResponse.From(t)) : ProblemResults.NotFound("time interval", id));
        intervals.MapPost("/", (JsonElement body, IGrainFactory grains) => PutIntervalAsync(null, body, grains));
        intervals.MapPut("/{id}", (string id, JsonElement body, IGrainFactory grains) => PutIntervalAsync(id, body, grains));
        intervals.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await Grain(grains).DeleteTimeIntervalAsync(id), "time interval", id) ?? TypedResults.NoContent());

        var inhibitions = app.MapGroup("/api/inhibitions").WithTags("Routing")
            .Audited("inhibition", async (grains, id) => (await SetAsync(grains)).Inhibitions.FirstOrDefault(i => i.Id == id) is { } i ? InhibitionResponse.From(i) : null);
        inhibitions.MapGet("/", async (IGrainFactory grains) =>
            TypedResults.Ok(Page<InhibitionResponse>.All([.. (await SetAsync(grains)).Inhibitions.OrderBy(i => i.Id, StringComparer.Ordinal).Select(InhibitionResponse.From)])));
        inhibitions.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            (await SetAsync(grains)).Inhibitions.FirstOrDefault(i => i.Id == id) is { } i ? TypedResults.Ok(InhibitionResponse.From(i)) : ProblemResults.NotFound("inhibition", id));
        inhibitions.MapPost("/", (JsonElement body, IGrainFactory grains) => PutInhibitionAsync(null, body, grains));
        inhibitions.MapPut("/{id}", (string id, JsonElement body, IGrainFactory grains) => PutInhibitionAsync(id, body, grains));
        inhibitions.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await Grain(grains).DeleteInhibitionAsync(id), "inhibition", id) ?? TypedResults.NoContent());

        var incidents = app.MapGroup("/api/incidents").WithTags("Incidents");
        incidents.MapGet("/", async (IGrainFactory grains, string? status, string? route, string? label, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            IncidentStatus? wanted = null;
            if (status is not null)
            {
                if (Enum.TryParse<IncidentStatus>(status, true, out var s) && Enum.IsDefined(s) && !int.TryParse(status, out _)) wanted = s;
                else errors.Add("status", $"'{status}' is not an incident status; expected one of: open, acknowledged, resolved");
            }
            (string Name, string Value)? labelFilter = null;
            if (label is not null)
            {
                var eq = label.IndexOf('=');
                if (eq <= 0 || label.Length > 400) errors.Add("label", "must be name=value, e.g. alertname=High error rate");
                else labelFilter = (label[..eq], label[(eq + 1)..]);
            }
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip) || errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var all = await grains.GetGrain<IIncidentIndexGrain>(IIncidentIndexGrain.Key).ListAsync();
            var items = all
                .Where(i => wanted is null || i.Status == wanted)
                .Where(i => route is null || i.Route == route)
                .Where(i => labelFilter is not { } l || i.GroupLabels.GetValueOrDefault(l.Name) == l.Value)
                .OrderBy(i => i.Status == IncidentStatus.Resolved).ThenByDescending(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal)
                .Select(IncidentSummaryResponse.From).ToArray();
            return TypedResults.Ok(Page<IncidentSummaryResponse>.Of(items, take, skip));
        });
        incidents.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            RouteTree.IsIncidentId(id) && await grains.GetGrain<IIncidentGrain>(id).GetAsync() is { } incident
                ? TypedResults.Ok(IncidentResponse.From(incident))
                : ProblemResults.NotFound("incident", id));
        incidents.MapPost("/{id}/ack", async (string id, AlertActionRequest? request, IGrainFactory grains, HttpContext http, ILoggerFactory loggers) =>
            AlertEndpoints.ByProblem(request?.By)
            ?? await ActAsync(id, grains, () => AlertCommands.AcknowledgeIncidentAsync(grains, id, AlertEndpoints.Actor(http, request?.By), loggers.CreateLogger(typeof(AlertCommands)))));
        incidents.MapPost("/{id}/resolve", async (string id, AlertActionRequest? request, IGrainFactory grains, HttpContext http, ILoggerFactory loggers) =>
            AlertEndpoints.ByProblem(request?.By)
            ?? await ActAsync(id, grains, () => AlertCommands.ResolveIncidentAsync(grains, id, AlertEndpoints.Actor(http, request?.By), loggers.CreateLogger(typeof(AlertCommands)))));
    }

    private static async Task<IResult> ActAsync(string id, IGrainFactory grains, Func<Task<WriteResult>> action)
    {
        if (!RouteTree.IsIncidentId(id)) return ProblemResults.NotFound("incident", id);
        if (ProblemResults.From(await action(), "incident", id) is { } problem) return problem;
        return TypedResults.Ok(IncidentResponse.From((await grains.GetGrain<IIncidentGrain>(id).GetAsync())!));
    }

    private static async Task<IResult> PutIntervalAsync(string? id, JsonElement body, IGrainFactory grains)
    {
        var errors = new RequestErrors();
        if (RoutingReader.ReadTimeInterval(body, id, errors) is not { } interval) return ProblemResults.Invalid(errors.ToArray());
        if (ProblemResults.From(await Grain(grains).PutTimeIntervalAsync(interval, create: id is null), "time interval", interval.Name) is { } problem) return problem;
        var response = TimeIntervalResponse.From(interval);
        return id is null ? TypedResults.Created($"/api/time-intervals/{interval.Name}", response) : TypedResults.Ok(response);
    }

    private static async Task<IResult> PutInhibitionAsync(string? id, JsonElement body, IGrainFactory grains)
    {
        var errors = new RequestErrors();
        if (RoutingReader.ReadInhibition(body, id, errors) is not { } rule) return ProblemResults.Invalid(errors.ToArray());
        if (ProblemResults.From(await Grain(grains).PutInhibitionAsync(rule, create: id is null), "inhibition", rule.Id) is { } problem) return problem;
        var response = InhibitionResponse.From(rule);
        return id is null ? TypedResults.Created($"/api/inhibitions/{rule.Id}", response) : TypedResults.Ok(response);
    }

    /// <summary>Every channel and escalation policy a receiver names must exist.</summary>
    private static async Task CheckReferencesAsync(Receiver[] receivers, IGrainFactory grains, RequestErrors errors)
    {
        for (var i = 0; i < receivers.Length; i++)
        {
            for (var c = 0; c < receivers[i].Channels.Length; c++)
            {
                if (await grains.GetGrain<INotificationChannelGrain>(receivers[i].Channels[c]).GetAsync() is null)
                {
                    errors.Add($"receivers[{i}].channels[{c}]", $"'{receivers[i].Channels[c]}' is not a channel");
                }
            }
            if (receivers[i].EscalationPolicy is { } policy && await grains.GetGrain<IEscalationPolicyGrain>(policy).GetAsync() is null)
            {
                errors.Add($"receivers[{i}].escalationPolicy", $"'{policy}' is not an escalation policy");
            }
        }
    }

    private static IRoutingGrain Grain(IGrainFactory grains) => grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key);

    private static async Task<RoutingSet> SetAsync(IGrainFactory grains) => await Grain(grains).GetIfChangedAsync(-1) ?? RoutingSet.Empty;
}

public sealed record IncidentSummaryResponse(
    string Id, string Route, string? Receiver, Dictionary<string, string> GroupLabels, string Status, int Episode, int Firing, int Alerts,
    DateTimeOffset? OpenedAt, DateTimeOffset UpdatedAt)
{
    public static IncidentSummaryResponse From(IncidentSummary i) => new(
        i.Id, i.Route, i.Receiver, i.GroupLabels, i.Status.ToString().ToLowerInvariant(), i.Episode, i.Firing, i.Total, i.OpenedAt, i.UpdatedAt);
}

public sealed record IncidentAlertResponse(
    string AlertId, string Status, string RuleId, string RuleName, string ServerId, string ServerName, string Severity, DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt, Dictionary<string, double> Values, Dictionary<string, string> Labels, bool Inhibited);

public sealed record IncidentResponse(
    string Id, string Route, string? Receiver, Dictionary<string, string> GroupLabels, string Status, int Episode, DateTimeOffset? OpenedAt,
    DateTimeOffset? ResolvedAt, DateTimeOffset? AcknowledgedAt, string? AcknowledgedBy, DateTimeOffset? NextNotificationAt, int EscalationLevel,
    DateTimeOffset? NextEscalationAt, int Firing, IncidentAlertResponse[] Alerts, IncidentEventResponse[] Timeline, DeliveryResponse[] Notifications)
{
    public static IncidentResponse From(IncidentView v) => new(
        v.Id, v.Route, v.Receiver, v.GroupLabels, v.Status.ToString().ToLowerInvariant(), v.Episode, v.OpenedAt, v.ResolvedAt, v.AcknowledgedAt,
        v.AcknowledgedBy, v.NextNotificationAt, v.EscalationLevel, v.NextEscalationAt, v.Alerts.Count(a => a.Status == MemberStatus.Firing),
        [.. v.Alerts.Select(a => new IncidentAlertResponse(a.AlertId, a.Status.ToString().ToLowerInvariant(), a.RuleId, a.RuleName, a.ServerId, a.ServerName,
            a.Severity.ToString().ToLowerInvariant(), a.StartsAt, a.EndsAt, a.Values, a.Labels, v.InhibitedAlerts.Contains(a.AlertId)))],
        [.. v.Timeline.Select(e => new IncidentEventResponse(e.At, e.Kind, e.Text))], [.. v.Notifications.Select(DeliveryResponse.From)]);
}

public sealed record IncidentEventResponse(DateTimeOffset At, string Kind, string Text);
