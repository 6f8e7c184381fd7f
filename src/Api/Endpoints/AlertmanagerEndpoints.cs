using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Monitoring.Api.Audit;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.External;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Silences;
using Prometheus;

namespace Monitoring.Api.Endpoints;

/// <summary>
/// Alertmanager's API v2, so Prometheus's <c>alerting.alertmanagers</c>, amtool, Karma and Grafana work against the
/// cluster unchanged. Posted alerts go through the same routing tree, grouping, inhibition, silences, time intervals,
/// escalation and acknowledgement as the product's own; silences are the product's, one set seen through both APIs.
/// </summary>
public static class AlertmanagerEndpoints
{
    public const string Section = "Alertmanager";
    public static readonly TimeSpan DefaultResolveTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The annotations that show an acknowledged alert through this API (its labels are its identity, so they stay).</summary>
    public const string AcknowledgedByAnnotation = "acknowledged_by";
    public const string AcknowledgedAtAnnotation = "acknowledged_at";

    private static readonly string Version =
        typeof(AlertmanagerEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// The Alertmanager release whose API v2 this one answers as, in <c>versionInfo.version</c>: amtool warns on every
    /// command when its major.minor differs from the server's. The product's own version is in <c>revision</c>.
    /// </summary>
    public const string DefaultApiVersion = "0.25.0";

    private static readonly Gauge BuildInfo = Metrics.CreateGauge("alertmanager_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, and goversion, as Alertmanager exports it (dashboards read it).",
        new GaugeConfiguration { LabelNames = ["version", "revision", "branch", "goversion"] });

    public static void MapAlertmanagerEndpoints(this IEndpointRouteBuilder app)
    {
        var configuration = app.ServiceProvider.GetRequiredService<IConfiguration>();
        var resolveTimeout = DefaultResolveTimeout;
        if (configuration[$"{Section}:ResolveTimeout"] is { } text)
        {
            if (!Durations.TryParse(text, out resolveTimeout, out var error) || resolveTimeout <= TimeSpan.Zero)
            {
                throw new InvalidOperationException($"{Section}:ResolveTimeout: {(error.Length > 0 ? error : "must be more than 0s")}");
            }
        }
        var apiVersion = configuration[$"{Section}:ApiVersion"] ?? DefaultApiVersion;
        if (!Regex.IsMatch(apiVersion, @"^[0-9]+\.[0-9]+\.[0-9]+$"))
        {
            throw new InvalidOperationException($"{Section}:ApiVersion: '{apiVersion}' is not a version like {DefaultApiVersion}");
        }
        var versionInfo = new AmVersionInfo(apiVersion, $"mcp-alerting {Version}", "main", "mcp-alerting", "", $".NET {Environment.Version}");
        BuildInfo.WithLabels(versionInfo.Version, versionInfo.Revision, versionInfo.Branch, versionInfo.GoVersion).Set(1);
        var started = DateTimeOffset.UtcNow;

        var v2 = app.MapGroup("/api/v2").WithTags("Alertmanager API v2");

        v2.MapPost("/alerts", async (AmPostableAlert?[]? alerts, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (alerts is null) return ProblemResults.Invalid([new FieldError("body", "must be a JSON array of alerts")]);
            if (alerts.Length > AmAlertReader.MaxAlertsPerRequest)
            {
                return ProblemResults.Invalid([new FieldError("body", $"has {alerts.Length} alerts; at most {AmAlertReader.MaxAlertsPerRequest} per request")]);
            }
            var accepted = AmAlertReader.Read(alerts, time.GetUtcNow(), resolveTimeout, errors);
            await Task.WhenAll(accepted.GroupBy(a => ExternalAlerts.PartitionOf(a.Fingerprint))
                .Select(partition => grains.GetGrain<IExternalAlertsGrain>(partition.Key).AcceptAsync([.. partition])));
            // As Alertmanager: the valid alerts are kept, and the invalid ones are named in a 400.
            return errors.Any
                ? ProblemResults.Invalid(errors.ToArray(), $"{alerts.Length - accepted.Count} of {alerts.Length} alerts are invalid; the other {accepted.Count} were accepted")
                : Results.Ok();
        });

        v2.MapGet("/alerts", async (HttpRequest request, IGrainFactory grains, IListingStore listings, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            var query = AlertQuery.Read(request, errors, allowUnprocessed: true);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var now = time.GetUtcNow();
            var alerts = (await ListAsync(grains, now)).Concat(await OwnAlertsAsync(grains, listings, now, resolveTimeout));
            return Results.Ok(alerts.Where(a => query.Wants(a)).Select(a => a.Gettable).ToArray());
        });

        v2.MapGet("/alerts/groups", async (HttpRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            var query = AlertQuery.Read(request, errors, allowUnprocessed: false);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var alerts = await ListAsync(grains, time.GetUtcNow());
            var groups = alerts.Where(a => query.Wants(a))
                .SelectMany(a => a.Routes.Where(r => query.Receiver is null || query.Receiver.IsMatch(ReceiverName(r))).Select(r => (Route: r, Alert: a)))
                .GroupBy(x => x.Route.IncidentId)
                .Select(g => new AmAlertGroup(g.First().Route.GroupLabels, new AmReceiver(ReceiverName(g.First().Route)), [.. g.Select(x => x.Alert.Gettable)]))
                .OrderBy(g => g.Receiver.Name, StringComparer.Ordinal)
                .ThenBy(g => string.Join(",", g.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")), StringComparer.Ordinal);
            return Results.Ok(groups.ToArray());
        });

        v2.MapGet("/silences", async (HttpRequest request, IGrainFactory grains, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            var filters = AmAlertReader.ReadFilters(request.Query["filter"].ToArray()!, errors);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var now = time.GetUtcNow();
            // A silence passes a filter when, for every filter matcher, it has the same matcher (as Alertmanager filters them).
            var silences = (await AllSilencesAsync(grains))
                .Where(s => filters.All(f => s.Matchers.Any(m => m == f)))
                .OrderBy(s => s.StateAt(now) switch { SilenceState.Active => 0, SilenceState.Pending => 1, _ => 2 })
                .ThenBy(s => s.StateAt(now) == SilenceState.Expired ? -s.EndsAt.UtcTicks : s.EndsAt.UtcTicks);
            return Results.Ok(silences.Select(s => AmGettableSilence.From(s, now)).ToArray());
        });

        v2.MapPost("/silences", async (AmPostableSilence? body, HttpContext http, IGrainFactory grains, TimeProvider time, IAuditLog audit) =>
        {
            if (body is null) return ProblemResults.Invalid([new FieldError("body", "must be a silence object")]);
            var errors = new RequestErrors();
            var now = time.GetUtcNow();
            if (!AmAlertReader.TryParseTime(body.StartsAt, out var startsAt)) errors.Add("startsAt", $"'{AmAlertReader.Clip(body.StartsAt)}' is not an RFC 3339 time");
            if (!AmAlertReader.TryParseTime(body.EndsAt, out var endsAt)) errors.Add("endsAt", $"'{AmAlertReader.Clip(body.EndsAt)}' is not an RFC 3339 time");
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var catalog = grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key);
            var known = body.Id is { Length: > 0 } id ? (await AllSilencesAsync(grains)).FirstOrDefault(s => s.Id == id) : null;
            if (body.Id is { Length: > 0 } && known is null) return ProblemResults.NotFound("silence", body.Id);
            var request = new SilenceRequest(body.Matchers, startsAt, endsAt, null, body.CreatedBy, body.Comment, known?.SendResolved);
            // An update keeps its id only where Alertmanager would: same matchers, not expired, and times it may still change.
            var sameId = known is not null && CanUpdate(known, request, now);
            var silenceId = sameId ? known!.Id : Guid.NewGuid().ToString("D");
            if (request.ToSilence(silenceId, now, errors) is not { } silence) return ProblemResults.Invalid(errors.ToArray());
            if (sameId)
            {
                if (ProblemResults.From(await catalog.UpdateAsync(silence), "silence", silenceId) is { } problem) return problem;
            }
            else
            {
                if (known is not null && known.StateAt(now) != SilenceState.Expired
                    && ProblemResults.From(await catalog.ExpireAsync(known.Id), "silence", known.Id) is { } expired) return expired;
                if (ProblemResults.From(await catalog.CreateAsync(silence), "silence", silenceId) is { } problem) return problem;
            }
            await audit.AppendAsync(now, http.User.Identity?.Name ?? "anonymous", "POST /api/v2/silences", "silence", silenceId,
                known is null ? null : AmGettableSilence.From(known, now), AmGettableSilence.From(silence, now));
            return Results.Ok(new AmSilenceCreated(silenceId));
        });

        v2.MapGet("/silence/{silenceID}", async (string silenceID, IGrainFactory grains, TimeProvider time) =>
            (await AllSilencesAsync(grains)).FirstOrDefault(s => s.Id == silenceID) is { } silence
                ? Results.Ok(AmGettableSilence.From(silence, time.GetUtcNow()))
                : ProblemResults.NotFound("silence", silenceID));

        v2.MapDelete("/silence/{silenceID}", async (string silenceID, HttpContext http, IGrainFactory grains, TimeProvider time, IAuditLog audit) =>
        {
            var now = time.GetUtcNow();
            var known = (await AllSilencesAsync(grains)).FirstOrDefault(s => s.Id == silenceID);
            if (known is null) return ProblemResults.NotFound("silence", silenceID);
            if (known.StateAt(now) == SilenceState.Expired) return ProblemResults.Conflict($"silence '{silenceID}' already expired");
            if (ProblemResults.From(await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).ExpireAsync(silenceID), "silence", silenceID) is { } problem) return problem;
            var after = (await AllSilencesAsync(grains)).FirstOrDefault(s => s.Id == silenceID);
            await audit.AppendAsync(now, http.User.Identity?.Name ?? "anonymous", "DELETE /api/v2/silence/{silenceID}", "silence", silenceID,
                AmGettableSilence.From(known, now), after is null ? null : AmGettableSilence.From(after, now));
            return Results.Ok();
        });

        v2.MapGet("/status", async (IGrainFactory grains, IConfiguration config) =>
        {
            var set = await RoutingAsync(grains);
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
            var peers = hosts.Select(h => new AmPeer(h.SiloName, h.SiloAddress.Endpoint.ToString())).OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
            return Results.Ok(new AmStatus(
                new AmClusterStatus(config["Orleans:ClusterId"] ?? "embedded", peers.Length > 0 ? "ready" : "settling", peers),
                versionInfo, new AmConfig(AlertmanagerConfigYaml.From(set, resolveTimeout)), started));
        });

        v2.MapGet("/receivers", async (IGrainFactory grains) =>
        {
            var set = await RoutingAsync(grains);
            var names = set.Receivers.Select(r => r.Name).ToList();
            if (set.Root.Receiver is null && !names.Contains(ExternalAlerts.NoReceiver)) names.Add(ExternalAlerts.NoReceiver);
            return Results.Ok(names.Select(n => new AmReceiver(n)).ToArray());
        });

        // Alertmanager's own liveness and readiness, for clients and load balancers that probe them.
        app.MapGet("/-/healthy", () => Results.Text("OK\n"));
        app.MapGet("/-/ready", async (HealthCheckService health, CancellationToken cancellationToken) =>
        {
            var report = await health.CheckHealthAsync(cancellationToken);
            return report.Status == HealthStatus.Unhealthy ? Results.Text("Not ready\n", statusCode: StatusCodes.Status503ServiceUnavailable) : Results.Text("OK\n");
        });
    }

    private static string ReceiverName(RouteMatch route) => route.Receiver ?? ExternalAlerts.NoReceiver;

    /// <summary>Alertmanager's rule for keeping a silence's id on update.</summary>
    private static bool CanUpdate(Silence known, SilenceRequest request, DateTimeOffset now)
    {
        var errors = new RequestErrors();
        if (request.ToSilence(known.Id, now, errors) is not { } next) return true; // refused below with the reasons
        if (!known.Matchers.SequenceEqual(next.Matchers)) return false;
        return known.StateAt(now) switch
        {
            SilenceState.Active => next.StartsAt == known.StartsAt && next.EndsAt >= now,
            SilenceState.Pending => next.StartsAt >= now,
            _ => false,
        };
    }

    private static async Task<Silence[]> AllSilencesAsync(IGrainFactory grains) =>
        (await grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key).GetIfChangedAsync(-1))?.Silences ?? [];

    private static async Task<RoutingSet> RoutingAsync(IGrainFactory grains) =>
        await grains.GetGrain<IRoutingGrain>(IRoutingGrain.Key).GetIfChangedAsync(-1) ?? RoutingSet.Empty;

    /// <summary>One alert with what the listing filters on: its routes, receivers, silences and inhibitor.</summary>
    private sealed record Listed(ExternalAlertView View, RouteMatch[] Routes, string[] Receivers, string? InhibitedBy, AmGettableAlert Gettable);

    private static async Task<Listed[]> ListAsync(IGrainFactory grains, DateTimeOffset now)
    {
        var partitions = await Task.WhenAll(Enumerable.Range(0, ExternalAlerts.Partitions).Select(p => grains.GetGrain<IExternalAlertsGrain>(p).ListAsync()));
        var set = await RoutingAsync(grains);
        var sources = set.Inhibitions.Length > 0
            ? await grains.GetGrain<IInhibitorsGrain>(IInhibitorsGrain.Key).GetIfChangedAsync(-1) ?? new InhibitorSet(0, [])
            : new InhibitorSet(0, []);
        return [.. partitions.SelectMany(p => p).OrderBy(a => a.Fingerprint, StringComparer.Ordinal).Select(view =>
        {
            var routes = RouteTree.Match(set.Root, view.Labels);
            var receivers = routes.Select(ReceiverName).Distinct().ToArray();
            var inhibitedBy = view.SilencedBy.Length == 0 && set.Inhibitions.Length > 0 ? Inhibition.InhibitedBy(set, sources, view.AlertId, view.Labels) : null;
            var annotations = view.Annotations;
            if (view.AcknowledgedAt is { } at)
            {
                annotations = new Dictionary<string, string>(annotations, StringComparer.Ordinal)
                {
                    [AcknowledgedByAnnotation] = view.AcknowledgedBy ?? "",
                    [AcknowledgedAtAnnotation] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                };
            }
            var inhibitors = inhibitedBy is null ? Array.Empty<string>() : [ExternalAlerts.IsAlertId(inhibitedBy) ? ExternalAlerts.FingerprintOf(inhibitedBy) : inhibitedBy];
            var state = view.SilencedBy.Length > 0 || inhibitors.Length > 0 ? "suppressed" : "active";
            var gettable = new AmGettableAlert(view.Labels, annotations, [.. receivers.Select(r => new AmReceiver(r))], view.Fingerprint, view.StartsAt,
                view.UpdatedAt, view.EndsAt, view.GeneratorUrl, new AmAlertStatus(state, view.SilencedBy, inhibitors));
            return new Listed(view, routes, receivers, inhibitedBy, gettable);
        })];
    }

    /// <summary>
    /// The product's own open alerts, as Alertmanager would list them: the labels the routing tree sees, the silences
    /// that match, the receivers of their routes (or of their rule, which names its own channels). Karma and amtool see
    /// every alert, not only those posted here.
    /// </summary>
    private static async Task<Listed[]> OwnAlertsAsync(IGrainFactory grains, IListingStore listings, DateTimeOffset now, TimeSpan resolveTimeout)
    {
        var (entries, _) = await listings.QueryAsync<AlertEntry>(new ListingQuery(50_000, 0)
        {
            Matchers = [new Matcher("status", MatchOperator.Regex, "firing|escalated|acknowledged|silenced|suppressed")],
        });
        if (entries.Length == 0) return [];
        var servers = entries.Select(e => e.ServerId).Distinct().ToArray();
        var (registered, _) = await listings.QueryAsync<ServerEntry>(new ListingQuery(servers.Length, 0) { Ids = servers });
        var labelsOf = registered.ToDictionary(s => s.Id, s => s.Server.Labels, StringComparer.Ordinal);
        var rules = (await grains.GetGrain<Monitoring.Rules.IRuleCatalogGrain>(Monitoring.Rules.IRuleCatalogGrain.Key).GetAsync()).Rules.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var set = await RoutingAsync(grains);
        var silences = await AllSilencesAsync(grains);
        var silenceSet = new SilenceSet(0, silences);
        return [.. entries.OrderBy(e => e.AlertId, StringComparer.Ordinal).Select(entry =>
        {
            var labels = new Dictionary<string, string>(AlertLabels.Of(entry.AlertId, entry.RuleId, entry.RuleName, entry.ServerId, entry.Severity,
                labelsOf.GetValueOrDefault(entry.ServerId) ?? []), StringComparer.Ordinal);
            var routed = rules.GetValueOrDefault(entry.RuleId) is not { } rule || rule.Routed;
            var routes = routed ? RouteTree.Match(set.Root, labels) : [];
            var receivers = routed ? routes.Select(ReceiverName).Distinct().ToArray() : [$"rule/{entry.RuleId}"];
            var silencedBy = entry.Status == Monitoring.Alerts.AlertStatus.Silenced ? silenceSet.Matching(labels, now).Select(s => s.Id).ToArray() : [];
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal) { ["summary"] = entry.Message };
            var view = new ExternalAlertView(ExternalAlerts.Fingerprint(labels), labels, annotations, entry.FiredAt ?? entry.UpdatedAt, now + resolveTimeout,
                entry.UpdatedAt, null, silencedBy, null, null, [.. routes.Select(r => r.IncidentId)]);
            var state = silencedBy.Length > 0 || entry.Status == Monitoring.Alerts.AlertStatus.Suppressed ? "suppressed" : "active";
            var gettable = new AmGettableAlert(labels, annotations, [.. receivers.Select(r => new AmReceiver(r))], view.Fingerprint, view.StartsAt,
                view.UpdatedAt, view.EndsAt, null, new AmAlertStatus(state, silencedBy, []));
            return new Listed(view, routes, receivers, null, gettable);
        })];
    }

    /// <summary>The query parameters both alert listings share, with Alertmanager's defaults (everything shown).</summary>
    private sealed record AlertQuery(Matcher[] Filters, bool Active, bool Silenced, bool Inhibited, Regex? Receiver)
    {
        public static AlertQuery Read(HttpRequest request, RequestErrors errors, bool allowUnprocessed)
        {
            var filters = AmAlertReader.ReadFilters(request.Query["filter"].ToArray()!, errors);
            var active = Flag(request, "active", errors);
            var silenced = Flag(request, "silenced", errors);
            var inhibited = Flag(request, "inhibited", errors);
            if (allowUnprocessed) Flag(request, "unprocessed", errors); // accepted alerts are processed at once: none is ever unprocessed
            var receiver = AmAlertReader.ReadReceiver(request.Query["receiver"], errors);
            return new AlertQuery(filters, active, silenced, inhibited, receiver);
        }

        private static bool Flag(HttpRequest request, string name, RequestErrors errors)
        {
            var text = request.Query[name].ToString();
            if (text.Length == 0) return true;
            if (bool.TryParse(text, out var value)) return value;
            errors.Add(name, $"'{AmAlertReader.Clip(text)}' is not true or false");
            return true;
        }

        public bool Wants(Listed alert)
        {
            if (!Filters.All(f => f.Matches(alert.View.Labels))) return false;
            if (Receiver is not null && !alert.Receivers.Any(Receiver.IsMatch)) return false;
            var silenced = alert.View.SilencedBy.Length > 0;
            var inhibited = alert.InhibitedBy is not null;
            if (!Silenced && silenced) return false;
            if (!Inhibited && inhibited) return false;
            return Active || silenced || inhibited;
        }
    }
}
