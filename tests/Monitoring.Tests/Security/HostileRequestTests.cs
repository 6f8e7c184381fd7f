using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>
/// A seeded hostile corpus over every route the API maps (the routes are read from the running app, so a new route
/// without a corpus entry fails here). Three kinds of case:
/// <list type="bullet">
/// <item>refused: never valid (duplicate members, invalid UTF-8, unpaired surrogates, unknown charsets and media
/// types, truncations, deep nesting, oversized or mistyped values, unknown fields, non-finite numbers, metadata
/// addresses, hostile ids). Each must be a 4xx problem within the time bound, and the state read back after a route's
/// refused cases is identical to the state before them;</item>
/// <item>fuzzed: a seeded mix of the same mutations with unicode tricks and injection-looking text. Valid
/// combinations may succeed; none may be a 5xx or slow, and a refusal is a problem;</item>
/// <item>hostile queries on every GET route: 4xx problems or 2xx, never a 5xx.</item>
/// </list>
/// The same seed gives the same cases; a failure names the case.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileRequestTests(ApiFixture api)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);
    private const int HugeText = 100_000;

    /// <summary>A route's valid body (null: it takes none) and whether a JSON null body is a valid "nothing".</summary>
    /// <summary>A route's valid body. OTLP's receivers must ignore fields they do not know (its forward compatibility): no unknown-field cases there.</summary>
    private sealed record RouteCase(string? Body, bool OptionalBody = false, bool IgnoresUnknownFields = false);

    private sealed record Case(string Kind, HttpMethod Method, string Url, byte[]? Body, string ContentType, bool Strict);

    public static TheoryData<int> Seeds() => new(1, 2);

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Every_route_refuses_hostile_requests_with_a_problem_in_time_and_changes_nothing(int seed)
    {
        var world = new ApiScenario(api);
        await world.WebhookChannelAsync($"c-{world.Id}", "hook");
        await world.ServerAndRuleAsync($"\"channels\":[\"c-{world.Id}\"]");
        await world.FireAsync();
        var policy = await api.Http.PostJsonAsync("/api/escalation-policies", $$"""{"id":"p-{{world.Id}}","name":"P","levels":[{"delay":"5m","channels":["c-{{world.Id}}"]}]}""");
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        var silence = await (await api.Http.PostJsonAsync("/api/silences",
            $$"""{"matchers":["t={{world.Id}}","severity=info"],"duration":"1h","createdBy":"h","comment":"hostile corpus"}""")).JsonAsync();
        var silenceId = silence.GetProperty("id").GetString()!;
        await world.WaitForHooksAsync("hook", 1);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/time-intervals",
            $$"""{"name":"ti-{{world.Id}}","location":"UTC","timeIntervals":[{"weekdays":["saturday"]}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/inhibitions",
            $$"""{"id":"inh-{{world.Id}}","sourceMatchers":["t={{world.Id}}","severity=critical"],"targetMatchers":["t={{world.Id}}","severity=info"],"equal":["server_id"]}""")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/users",
            $$"""{"id":"u-{{world.Id}}","name":"U","timeZone":"Europe/Berlin","contactMethods":[{"id":"hook","type":"webhook","channel":"c-{{world.Id}}"}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/schedules",
            $$"""{"id":"sch-{{world.Id}}","name":"S","timeZone":"Europe/Berlin","layers":[{"name":"l1","users":["u-{{world.Id}}"],"start":"2026-03-02T09:00","shift":"1w"}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/heartbeats", $$"""{"id":"hb-{{world.Id}}","period":"1h"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/slos", $$"""{"id":"slo-{{world.Id}}","objective":99.5,"selector":{"t":"{{world.Id}}"} }""")).StatusCode);
        // A discovery source whose registry does not answer (port 9): its polls fail and change nothing.
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/discovery/sources", $$"""{"id":"ds-{{world.Id}}","url":"http://127.0.0.1:9"}""")).StatusCode);
        var ids = new Dictionary<string, string>
        {
            ["/api/heartbeats"] = "hb-" + world.Id, ["/api/slos"] = "slo-" + world.Id, ["/api/discovery/sources"] = "ds-" + world.Id, ["/api/users"] = "u-" + world.Id, ["/api/schedules"] = "sch-" + world.Id,
            ["/api/servers"] = world.ServerId, ["/api/rules"] = world.RuleId, ["/api/channels"] = $"c-{world.Id}",
            ["/api/silences"] = silenceId, ["/api/escalation-policies"] = $"p-{world.Id}", ["/api/alerts"] = world.AlertId,
            ["/api/keys"] = "key-" + world.Id, ["/api/time-intervals"] = "ti-" + world.Id, ["/api/inhibitions"] = "inh-" + world.Id,
            ["/api/incidents"] = "inc-00000000000000000000",
        };
        var routes = Routes(world.Id, world.Url("hook"));
        var mapped = MappedRoutes();
        var missing = mapped.Where(r => !routes.ContainsKey(r)).ToList();
        Assert.True(missing.Count == 0, "routes without a hostile corpus entry: " + string.Join(", ", missing));

        // First every refused case, route by route, against a settled state that must not move; then the fuzzed
        // and query cases, whose valid ones change things (a rule's condition, a server's probe) with effects that
        // land later, so for those only the answers are checked.
        var random = new Random(seed);
        var strict = 0;
        var loose = new List<Case>();
        foreach (var route in mapped)
        {
            var (method, pattern) = Split(route);
            var entry = routes[route];
            var cases = new List<Case>();
            var url = Fill(pattern, ids);
            foreach (var id in HostileIds())
            {
                var hostileUrl = pattern.Contains('{') ? Fill(pattern, ids, id) : null;
                if (hostileUrl is not null) cases.Add(new Case($"hostile id {Show(id)}", method, hostileUrl, entry.Body is null ? null : Bytes(entry.Body), "application/json", Strict: true));
            }
            if (entry.Body is { } body)
            {
                cases.AddRange(RefusedBodies(body, entry.OptionalBody).Where(b => !(entry.IgnoresUnknownFields && b.Kind.StartsWith("unknown field", StringComparison.Ordinal))).Select(b => new Case(b.Kind, method, url, b.Bytes, b.ContentType, Strict: true)));
                loose.AddRange(Enumerable.Range(0, 12).Select(_ => Fuzzed(body, random)).Select(b => new Case(b.Kind, method, url, b.Bytes, "application/json", Strict: false)));
            }
            if (method == HttpMethod.Get)
            {
                loose.AddRange(HostileQueries(random).Select(q => new Case($"query {Show(q)}", method, url + "?" + q, null, "", Strict: false)));
            }
            strict += cases.Count;
            var before = await SettledAsync(world);
            foreach (var hostile in cases) await SendAsync(hostile);
            var after = await SnapshotAsync(world);
            Assert.True(before == after, $"refused requests to {route} changed the state:\n{Diff(before, after)}");
        }
        foreach (var hostile in loose) await SendAsync(hostile);
        Assert.True(strict > 1000, $"the corpus has {strict} refused cases");
    }

    private async Task SendAsync(Case hostile)
    {
        using var request = new HttpRequestMessage(hostile.Method, hostile.Url);
        if (hostile.Body is { } bytes)
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", hostile.ContentType);
        }
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        clock.Stop();
        var status = (int)response.StatusCode;
        var what = $"{hostile.Method} {Show(hostile.Url)} [{hostile.Kind}] answered {status} {Show(text)}";
        Assert.True(clock.Elapsed < Bound, $"{what} after {clock.ElapsedMilliseconds} ms");
        Assert.True(status < 500, what);
        if (hostile.Strict) Assert.True(status is >= 400 and < 500, what);
        if (status >= 400)
        {
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", what);
            using var problem = JsonDocument.Parse(text);
            Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        }
    }

    /// <summary>The snapshot once deliveries in flight (from the setup, or a valid fuzz case) are done.</summary>
    private async Task<string> SettledAsync(ApiScenario world)
    {
        var snapshot = "";
        await Eventually.TrueAsync(async () =>
        {
            var channel = await world.ChannelViewAsync($"c-{world.Id}");
            if (channel.GetProperty("pending").GetInt32() != 0) return false;
            var again = await SnapshotAsync(world);
            var settled = again == snapshot;
            snapshot = again;
            return settled;
        }, "the test's channel to deliver what it holds", TimeSpan.FromSeconds(30));
        return snapshot;
    }

    /// <summary>What the test's own resources look like, and how many of each kind there are.</summary>
    private async Task<string> SnapshotAsync(ApiScenario world)
    {
        var parts = new List<string>();
        foreach (var path in new[]
        {
            $"/api/servers/{world.ServerId}", $"/api/rules/{world.RuleId}", $"/api/channels/c-{world.Id}", $"/api/escalation-policies/p-{world.Id}",
            $"/api/alerts/{world.AlertId}", $"/api/alerts/{world.AlertId}/notifications", $"/api/channels/c-{world.Id}/deliveries",
            "/api/routing", $"/api/time-intervals/ti-{world.Id}", $"/api/inhibitions/inh-{world.Id}",
            $"/api/users/u-{world.Id}", $"/api/schedules/sch-{world.Id}",
        })
        {
            parts.Add(path + " " + await api.Http.GetStringAsync(path));
        }
        foreach (var list in new[] { "/api/servers", "/api/rules", "/api/channels", "/api/silences", "/api/escalation-policies", "/api/keys", "/api/alerts", "/api/audit", "/api/time-intervals", "/api/inhibitions", "/api/users", "/api/schedules" })
        {
            using var page = JsonDocument.Parse(await api.Http.GetStringAsync(list + "?limit=1"));
            parts.Add($"{list} total={page.RootElement.GetProperty("total").GetInt32()}");
        }
        var silences = await api.Http.GetStringAsync("/api/silences?limit=1000");
        parts.Add(string.Join(",", JsonDocument.Parse(silences).RootElement.GetProperty("items").EnumerateArray()
            .Where(s => s.GetProperty("comment").GetString() == "hostile corpus").Select(s => s.ToString())));
        return string.Join("\n", parts);
    }

    private static string Diff(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        return string.Join("\n", a.Zip(b).Where(p => p.First != p.Second).Select(p => $"- {Show(p.First, 400)}\n+ {Show(p.Second, 400)}"));
    }

    private List<string> MappedRoutes()
    {
        var sources = api.Services.GetServices<EndpointDataSource>();
        // The console's pages take forms, not JSON; ConsolePagesTests and Console/ cover their hostile input.
        return [.. sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor>() is null)
            // The agents' endpoint speaks JSON-RPC, not problems: McpHostileTests is its corpus.
            .Where(e => "/" + (e.RoutePattern.RawText ?? "").Trim('/') != Monitoring.Api.Mcp.McpEndpoint.Path)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} {"/" + (e.RoutePattern.RawText ?? "").Trim('/')}"))
            .Distinct().Order()];
    }

    private static (HttpMethod, string) Split(string route) => (new HttpMethod(route[..route.IndexOf(' ')]), route[(route.IndexOf(' ') + 1)..]);

    private static string Fill(string pattern, Dictionary<string, string> ids, string? hostile = null)
    {
        var collection = ids.Keys.Where(k => pattern.StartsWith(k + "/", StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault();
        return System.Text.RegularExpressions.Regex.Replace(pattern, @"\{(\w+)\??\}", m => hostile ?? m.Groups[1].Value switch
        {
            "id" when collection is not null => Uri.EscapeDataString(ids[collection]),
            "kind" => "server",
            "tokenId" => "tok-none",
            _ => "none",
        });
    }

    /// <summary>Every route and a valid body for it; each hostile case breaks it in one way.</summary>
    private static Dictionary<string, RouteCase> Routes(string id, string hookUrl)
    {
        var server = """{"name":"S","endpoint":"http://127.0.0.1:3001/mcp","labels":{"t":"@ID@","env":"prod"},"metricsUrl":"http://127.0.0.1:3001/metrics","probe":{"enabled":false,"interval":"30s","timeout":"5s","headers":{"Authorization":"Bearer x"},"expectedTools":["search"],"transport":"auto"}}""".Replace("@ID@", id);
        var rule = """{"name":"R","condition":"error_rate > 0.05 and p95_response_time > 2","for":"1m","severity":"critical","message":"m","cooldown":"5m","escalateAfter":"15m","channels":["c-@ID@"],"selector":{"t":"@ID@"},"subjectTemplate":"{{ alert.title }}","autoResolve":true,"enabled":true}""".Replace("@ID@", id);
        var channel = """{"type":"webhook","enabled":true,"config":{"url":"@HOOK@","method":"POST","headers":{"X-Token":"t"},"timeoutSeconds":5,"format":"native","signingSecret":"s","retry":{"maxAge":"1h","initialDelay":"2s","maxDelay":"5m"},"rateLimit":{"perMinute":10,"burst":2}}}""";
        var silence = """{"matchers":["t=@ID@",{"name":"severity","value":"info","isRegex":false,"isEqual":true}],"startsAt":"2026-01-01T00:00:00Z","duration":"2h","createdBy":"h","comment":"hostile corpus","sendResolved":false}""".Replace("@ID@", id);
        var policy = """{"name":"P","levels":[{"delay":"5m","channels":["c-@ID@"]}],"repeat":1,"repeatInterval":"30m"}""".Replace("@ID@", id);
        var routing = """{"route":{"groupBy":["alertname"],"routes":[{"matchers":["t=@ID@"],"receiver":"r-@ID@","continue":false,"groupWait":"30s","groupInterval":"5m","repeatInterval":"4h","muteTimeIntervals":["ti-@ID@"]}]},"receivers":[{"name":"r-@ID@","channels":["c-@ID@"],"sendResolved":true,"maxAlerts":100}]}""".Replace("@ID@", id);
        var interval = """{"location":"Europe/Berlin","timeIntervals":[{"times":[{"startTime":"09:00","endTime":"17:00"}],"weekdays":["monday:friday"],"daysOfMonth":["1:10"],"months":["january"],"years":["2026"]}]}""";
        var inhibition = """{"sourceMatchers":["t=@ID@","severity=critical"],"targetMatchers":["t=@ID@","severity=info"],"equal":["server_id"]}""".Replace("@ID@", id);
        var amAlerts = """[{"labels":{"alertname":"A","t":"@ID@"},"annotations":{"summary":"s"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T00:05:00Z","generatorURL":"http://p/graph"}]""".Replace("@ID@", id);
        var amSilence = """{"matchers":[{"name":"t","value":"@ID@","isRegex":false,"isEqual":true}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"h","comment":"hostile corpus"}""".Replace("@ID@", id);
        var user = """{"name":"U","timeZone":"Europe/Berlin","contactMethods":[{"id":"hook","type":"webhook","channel":"c-@ID@"}],"notificationRules":[{"contactMethod":"hook","after":"0s"}]}""".Replace("@ID@", id);
        var schedule = """{"name":"S","timeZone":"Europe/Berlin","layers":[{"name":"l1","users":["u-@ID@"],"start":"2026-03-02T09:00","shift":"1w","restrictions":[{"days":["mon","tue"],"from":"09:00","to":"17:00"}]}]}""".Replace("@ID@", id);
        var scheduleOverride = """{"user":"u-@ID@","start":"2026-03-03T09:00:00Z","end":"2026-03-03T10:00:00Z"}""".Replace("@ID@", id);
        var discovery = """{"kind":"registry","url":"http://127.0.0.1:9/registry","interval":"10m","namePattern":"^io\\.example/","labels":{"t":"@ID@"}}""".Replace("@ID@", id);
        var heartbeat = """{"name":"H","labels":{"t":"@ID@"},"period":"1h","grace":"5m","timeZone":"UTC","startGrace":"1h"}""".Replace("@ID@", id);
        var slo = """{"name":"S","selector":{"t":"@ID@"},"indicator":"latency","latencyThreshold":"250ms","objective":99.5,"window":"28d","aggregate":true,"labels":{"t":"@ID@"},"pageFactors":[14.4,6],"ticketFactors":[3,1],"minEvents":5}""".Replace("@ID@", id);
        var telemetry = """{"requests":[{"method":"tools/call","tool":"search","durationMs":120,"success":true}],"gauges":{"activeConnections":3,"cpuUsage":42.5,"memoryUsage":61.0}}""";
        var document = ("{\"apiVersion\":\"mcp-alerting/v1\",\"namespace\":\"hostile-@ID@\",\"channels\":[{\"id\":\"hc-@ID@\",\"type\":\"webhook\",\"config\":{\"url\":\"" + hookUrl + "\"}}],"
            + "\"servers\":[" + server.Insert(1, "\"id\":\"hs-@ID@\",") + "],\"rules\":[" + rule.Insert(1, "\"id\":\"hr-@ID@\",").Replace("\"c-@ID@\"", "\"hc-@ID@\"") + "],"
            + "\"escalationPolicies\":[" + policy.Insert(1, "\"id\":\"hp-@ID@\",").Replace("\"c-@ID@\"", "\"hc-@ID@\"") + "],"
            + "\"timeIntervals\":[" + interval.Insert(1, "\"name\":\"hti-@ID@\",") + "],\"inhibitions\":[" + inhibition.Insert(1, "\"id\":\"hi-@ID@\",") + "]}").Replace("@ID@", id);
        return new Dictionary<string, RouteCase>
        {
            ["POST /api/config/plan"] = new(document), ["POST /api/config/apply"] = new(document), ["GET /api/config/export"] = new(null),
            ["GET /api/config/namespaces"] = new(null), ["GET /api/config/schema"] = new(null),
            ["GET /api/servers"] = new(null), ["POST /api/servers"] = new(server.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/servers/{id}"] = new(null), ["PUT /api/servers/{id}"] = new(server), ["DELETE /api/servers/{id}"] = new(null),
            ["POST /api/servers/{id}/check"] = new(null), ["POST /api/servers/{id}/telemetry"] = new(telemetry),
            ["POST /api/servers/{id}/ingest-tokens"] = new(null), ["DELETE /api/servers/{id}/ingest-tokens/{tokenId}"] = new(null),
            ["GET /api/rules"] = new(null), ["POST /api/rules"] = new(rule.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/rules/{id}"] = new(null), ["PUT /api/rules/{id}"] = new(rule), ["DELETE /api/rules/{id}"] = new(null),
            ["GET /api/channels"] = new(null), ["POST /api/channels"] = new(channel.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/channels/{id}"] = new(null), ["PUT /api/channels/{id}"] = new(channel), ["DELETE /api/channels/{id}"] = new(null),
            ["GET /api/channels/{id}/deliveries"] = new(null), ["POST /api/channels/{id}/test"] = new(null),
            ["GET /api/silences"] = new(null), ["POST /api/silences"] = new(silence), ["GET /api/silences/{id}"] = new(null),
            ["PUT /api/silences/{id}"] = new(silence), ["DELETE /api/silences/{id}"] = new(null), ["POST /api/silences/{id}/expire"] = new(null),
            ["GET /api/escalation-policies"] = new(null), ["POST /api/escalation-policies"] = new(policy.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/escalation-policies/{id}"] = new(null), ["PUT /api/escalation-policies/{id}"] = new(policy), ["DELETE /api/escalation-policies/{id}"] = new(null),
            ["GET /api/alerts"] = new(null), ["GET /api/alerts/history"] = new(null), ["GET /api/alerts/{id}"] = new(null),
            ["GET /api/alerts/{id}/notifications"] = new(null), ["POST /api/alerts/{id}/ack"] = new("""{"by":"alice"}""", OptionalBody: true),
            ["POST /api/alerts/{id}/resolve"] = new("""{"by":"alice"}""", OptionalBody: true), ["POST /api/alerts/{id}/suppress"] = new("""{"duration":"1h","by":"alice"}"""),
            ["GET /api/keys"] = new(null), ["POST /api/keys"] = new("""{"name":"k1","role":"reader"}"""), ["DELETE /api/keys/{id}"] = new(null),
            ["GET /api/audit"] = new(null), ["GET /api/cluster"] = new(null), ["GET /api/cluster/activations/{kind}/{id}"] = new(null),
            ["GET /health"] = new(null), ["GET /health/live"] = new(null), ["GET /health/ready"] = new(null), ["GET /metrics"] = new(null),
            ["GET /openapi/v1.json"] = new(null),
            ["GET /api/routing"] = new(null), ["PUT /api/routing"] = new(routing), ["POST /api/routing/test"] = new("""{"labels":{"t":"x","severity":"critical"}}"""),
            ["GET /api/time-intervals"] = new(null), ["POST /api/time-intervals"] = new(interval.Insert(1, $"\"name\":\"new-{id}\",")),
            ["GET /api/time-intervals/{id}"] = new(null), ["PUT /api/time-intervals/{id}"] = new(interval), ["DELETE /api/time-intervals/{id}"] = new(null),
            ["GET /api/inhibitions"] = new(null), ["POST /api/inhibitions"] = new(inhibition.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/inhibitions/{id}"] = new(null), ["PUT /api/inhibitions/{id}"] = new(inhibition), ["DELETE /api/inhibitions/{id}"] = new(null),
            ["GET /api/incidents"] = new(null), ["GET /api/incidents/{id}"] = new(null),
            ["GET /api/users"] = new(null), ["POST /api/users"] = new(user.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/users/{id}"] = new(null), ["PUT /api/users/{id}"] = new(user), ["DELETE /api/users/{id}"] = new(null),
            ["GET /api/schedules"] = new(null), ["POST /api/schedules"] = new(schedule.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/schedules/{id}"] = new(null), ["PUT /api/schedules/{id}"] = new(schedule), ["DELETE /api/schedules/{id}"] = new(null),
            ["POST /api/schedules/{id}/overrides"] = new(scheduleOverride), ["DELETE /api/schedules/{id}/overrides/{overrideId}"] = new(null),
            ["GET /api/schedules/{id}/oncall"] = new(null), ["GET /api/schedules/{id}/shifts"] = new(null), ["GET /api/oncall"] = new(null),
            ["POST /api/schedules/{id}/feeds"] = new(null), ["GET /api/schedules/{id}/feeds"] = new(null), ["DELETE /api/schedules/{id}/feeds/{feedId}"] = new(null),
            ["POST /api/users/{id}/feeds"] = new(null), ["GET /api/users/{id}/feeds"] = new(null), ["DELETE /api/users/{id}/feeds/{feedId}"] = new(null),
            ["GET /ical/{token}"] = new(null),
            ["GET /api/slos"] = new(null), ["POST /api/slos"] = new(slo.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/slos/{id}"] = new(null), ["PUT /api/slos/{id}"] = new(slo), ["DELETE /api/slos/{id}"] = new(null),
            ["POST /api/slos/{id}/evaluate"] = new(null), ["GET /api/servers/{id}/summary"] = new(null),
            ["GET /api/heartbeats"] = new(null), ["POST /api/heartbeats"] = new(heartbeat.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/heartbeats/{id}"] = new(null), ["PUT /api/heartbeats/{id}"] = new(heartbeat), ["DELETE /api/heartbeats/{id}"] = new(null),
            ["POST /api/heartbeats/{id}/pause"] = new(null), ["POST /api/heartbeats/{id}/resume"] = new(null), ["POST /api/heartbeats/{id}/token"] = new(null),
            ["GET /api/discovery/sources"] = new(null), ["POST /api/discovery/sources"] = new(discovery.Insert(1, $"\"id\":\"new-{id}\",")),
            ["GET /api/discovery/sources/{id}"] = new(null), ["PUT /api/discovery/sources/{id}"] = new(discovery), ["DELETE /api/discovery/sources/{id}"] = new(null),
            ["POST /api/discovery/sources/{id}/sync"] = new(null),
            ["GET /ping/{token}"] = new(null), ["HEAD /ping/{token}"] = new(null), ["POST /ping/{token}"] = new(null),
            ["GET /ping/{token}/start"] = new(null), ["HEAD /ping/{token}/start"] = new(null), ["POST /ping/{token}/start"] = new(null),
            ["GET /ping/{token}/fail"] = new(null), ["HEAD /ping/{token}/fail"] = new(null), ["POST /ping/{token}/fail"] = new(null),
            ["GET /ping/{token}/{code:int}"] = new(null), ["HEAD /ping/{token}/{code:int}"] = new(null), ["POST /ping/{token}/{code:int}"] = new(null),
            ["POST /api/incidents/{id}/ack"] = new("""{"by":"alice"}""", OptionalBody: true), ["POST /api/incidents/{id}/resolve"] = new("""{"by":"alice"}""", OptionalBody: true),
            ["POST /api/v2/alerts"] = new(amAlerts), ["GET /api/v2/alerts"] = new(null), ["GET /api/v2/alerts/groups"] = new(null),
            ["GET /api/v2/silences"] = new(null), ["POST /api/v2/silences"] = new(amSilence), ["GET /api/v2/silence/{silenceID}"] = new(null),
            ["DELETE /api/v2/silence/{silenceID}"] = new(null), ["GET /api/v2/status"] = new(null), ["GET /api/v2/receivers"] = new(null),
            ["GET /-/healthy"] = new(null), ["GET /-/ready"] = new(null),
            ["POST /slack/interactions"] = new("""{"payload":"{}"}"""),
            ["POST /api/servers/bulk"] = new("{\"servers\":[" + server.Insert(1, $"\"id\":\"bulk-{id}\",") + "]}"),
            ["POST /api/telemetry"] = new($"{{\"servers\":[{{\"serverId\":\"none-{id}\",\"telemetry\":{telemetry}}}]}}"),
            ["POST /v1/metrics"] = new($$$"""{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"none-{{{id}}}"}}]},"scopeMetrics":[{"metrics":[{"name":"mcp.server.operation.duration","unit":"s","histogram":{"aggregationTemporality":1,"dataPoints":[{"attributes":[{"key":"mcp.method.name","value":{"stringValue":"tools/call"}}],"timeUnixNano":"1","count":"1","bucketCounts":["1"]}]}}]}]}]}""", IgnoresUnknownFields: true),
        };
    }

    // A NUL in the path is refused by Kestrel before the pipeline (the test host cannot even send it): see the test below.
    private static IEnumerable<string> HostileIds() =>
    [
        "%20", "%09", "a%0D%0Ab", new string('a', 70_000), "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE", "'%20OR%201%3D1--",
        "%FF%FE", "%24%7Bjndi%3Aldap%3A%2F%2Fx%7D", "%3Cscript%3E", "con", "a%2Fb", "%F0%9F%98%80",
    ];

    private static IEnumerable<string> HostileQueries(Random random)
    {
        string[] all =
        [
            "limit=-1", "limit=abc", "limit=99999999999", "offset=-5", "offset=99999999999", "status=1", "severity=%00", "state=%E2%80%AE",
            "label=%7B", "label=a%3D~(a%2B)%2B%24", "label=" + new string('a', 5000), "sort=%3BDROP%20TABLE%20x", "order=sideways",
            "from=9999-12-31T23:59:59Z&to=0001-01-01T00:00:00Z", "from=yesterday", "q=" + new string('x', 300), "health=%FF", "detailed=maybe",
            "type=%00", "kind=%27", "limit=1&limit=2", "serverId=" + new string('s', 10_000),
        ];
        return all.OrderBy(_ => random.Next()).Take(8);
    }

    private sealed record Body(string Kind, byte[] Bytes, string ContentType = "application/json");

    private static IEnumerable<Body> RefusedBodies(string valid, bool optional)
    {
        yield return new("charset klingon", Bytes(valid), "application/json; charset=klingon");
        yield return new("text/plain", Bytes(valid), "text/plain");
        yield return new("deep nesting", Bytes(new string('[', 10_000) + new string(']', 10_000)));
        // The wrong shape: an array where an object is due, an object where an array is (Alertmanager's alert batches).
        yield return valid.StartsWith('[') ? new("object", Bytes("{}")) : new("array", Bytes("[]"));
        yield return new("string", Bytes("\"x\""));
        yield return new("huge number", Bytes("1e999"));
        yield return new("NaN", Bytes("NaN"));
        if (!optional) yield return new("null", Bytes("null"));
        for (var cut = 1; cut < valid.Length - 1; cut += Math.Max(1, valid.Length / 12)) yield return new($"truncated at {cut}", Bytes(valid[..cut]));
        yield return new("BOM and truncation", Bytes("\uFEFF" + valid[..(valid.Length / 2)]));

        var root = JsonNode.Parse(valid)!;
        foreach (var (path, node) in Leaves(root))
        {
            yield return Mutated(root, path, "huge text", JsonValue.Create(new string('a', HugeText)));
            yield return Mutated(root, path, "non-finite number", null, raw: "1e999");
            yield return Mutated(root, path, "object for a value", new JsonObject { ["$ne"] = 1 });
            yield return Mutated(root, path, "list for a value", new JsonArray(1, 2));
            if (node.GetValueKind() is JsonValueKind.String && node.GetValue<string>().StartsWith("http", StringComparison.Ordinal))
            {
                yield return Mutated(root, path, "metadata address", JsonValue.Create("http://0xa9fea9fe/latest/meta-data/"));
            }
            if (node.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                yield return Mutated(root, path, "text for a boolean", JsonValue.Create("yes"));
            }
            if (node.GetValueKind() is JsonValueKind.String)
            {
                yield return Raw($"invalid UTF-8 in {path}", Replace(root, path, "\u0001MARK\u0001"), "\"\\u0001MARK\\u0001\"", [(byte)'"', 0x61, 0xFF, 0x80, 0xC0, 0xAF, 0xED, 0xA0, 0x80, (byte)'"']);
                yield return Raw($"lone surrogate in {path}", Replace(root, path, "\u0001MARK\u0001"), "\"\\u0001MARK\\u0001\"", Encoding.ASCII.GetBytes("\"a\\ud800b\""));
            }
        }
        foreach (var (path, obj) in Objects(root))
        {
            if (obj.Count == 0) continue;
            var first = obj.First();
            var text = root.ToJsonString();
            var member = $"\"{first.Key}\":{first.Value?.ToJsonString() ?? "null"}";
            // An object inside an array has no member name to search from: search from the start.
            var from = path.Length == 0 ? 0 : Math.Max(0, text.IndexOf(Quote(Last(path)), StringComparison.Ordinal));
            var at = text.IndexOf(member, from, StringComparison.Ordinal);
            if (at >= 0) yield return new($"duplicate '{first.Key}' in {Show(path)}", Bytes(text.Insert(at, member + ",")));
            if (!IsDictionary(path))
            {
                var copy = root.DeepClone();
                At(copy, path).AsObject()["unexpectedField"] = 1;
                yield return new($"unknown field in {Show(path)}", Bytes(copy.ToJsonString()));
            }
        }
    }

    private static Body Fuzzed(string valid, Random random)
    {
        string[] texts = ["\u202egnp.exe", "a\u0000b", "😀", "\uFEFF", "e\u0301", "' OR 1=1 --", "${jndi:ldap://x/a}", "<script>alert(1)</script>", "../../etc/passwd", "%00",
            "{{7*7}}", "{% for i in (1..100000000) %}x{% endfor %}", "", " ", "NaN", "Infinity", "-0", "1e308", new string('x', 257), "\\", "\r\nX-Injected: 1"];
        JsonNode?[] values = [JsonValue.Create(-1), JsonValue.Create(0), JsonValue.Create(1e308), JsonValue.Create(-1e308), JsonValue.Create(1.5), JsonValue.Create(long.MaxValue),
            JsonValue.Create(true), null, new JsonObject(), new JsonArray()];
        var root = JsonNode.Parse(valid)!;
        var leaves = Leaves(root).Select(l => l.Path).ToList();
        var kinds = new List<string>();
        for (var i = 0; i < random.Next(1, 4) && leaves.Count > 0; i++)
        {
            var path = leaves[random.Next(leaves.Count)];
            JsonNode? value = random.Next(3) == 0 ? values[random.Next(values.Length)]?.DeepClone() : JsonValue.Create(texts[random.Next(texts.Length)]);
            Set(root, path, value);
            kinds.Add($"{Show(path)}={Show(value?.ToJsonString() ?? "null", 30)}");
        }
        return new("fuzz " + string.Join(" ", kinds), Bytes(root.ToJsonString()));
    }

    private static Body Mutated(JsonNode root, string path, string kind, JsonNode? value, string? raw = null)
    {
        if (raw is null) return new($"{kind} in {path}", Bytes(Replace(root, path, value)));
        var marked = Replace(root, path, "\u0001MARK\u0001");
        return new($"{kind} in {path}", Bytes(marked.Replace("\"\\u0001MARK\\u0001\"", raw, StringComparison.Ordinal)));
    }

    private static Body Raw(string kind, string marked, string marker, byte[] bytes)
    {
        var at = marked.IndexOf(marker, StringComparison.Ordinal);
        var head = Encoding.UTF8.GetBytes(marked[..at]);
        var tail = Encoding.UTF8.GetBytes(marked[(at + marker.Length)..]);
        return new(kind, [.. head, .. bytes, .. tail]);
    }

    private static string Replace(JsonNode root, string path, JsonNode? value)
    {
        var copy = root.DeepClone();
        Set(copy, path, value);
        return copy.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string Replace(JsonNode root, string path, string marker) => Replace(root, path, JsonValue.Create(marker));

    private static IEnumerable<(string Path, JsonNode Node)> Leaves(JsonNode node, string path = "")
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is not null) foreach (var leaf in Leaves(child, path.Length == 0 ? name : $"{path}.{name}")) yield return leaf;
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } child) foreach (var leaf in Leaves(child, $"{path}[{i}]")) yield return leaf;
                }
                break;
            default:
                yield return (path, node);
                break;
        }
    }

    private static IEnumerable<(string Path, JsonObject Node)> Objects(JsonNode node, string path = "")
    {
        if (node is JsonObject obj)
        {
            yield return (path, obj);
            foreach (var (name, child) in obj.ToList())
            {
                if (child is not null) foreach (var inner in Objects(child, path.Length == 0 ? name : $"{path}.{name}")) yield return inner;
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                if (array[i] is { } child) foreach (var inner in Objects(child, $"{path}[{i}]")) yield return inner;
            }
        }
    }

    private static bool IsDictionary(string path) => Last(path) is "labels" or "selector" or "headers";

    private static string Last(string path)
    {
        var name = path.Contains('.') ? path[(path.LastIndexOf('.') + 1)..] : path;
        return name.Contains('[') ? name[..name.IndexOf('[')] : name;
    }

    private static string Quote(string name) => $"\"{name}\":";

    private static JsonNode At(JsonNode root, string path)
    {
        var node = root;
        foreach (var step in Steps(path)) node = step is int i ? node[i]! : node[(string)step]!;
        return node;
    }

    private static void Set(JsonNode root, string path, JsonNode? value)
    {
        var steps = Steps(path).ToList();
        var parent = steps.Count == 1 ? root : At(root, Join(steps[..^1]));
        if (steps[^1] is int i) parent.AsArray()[i] = value;
        else parent.AsObject()[(string)steps[^1]] = value;
    }

    private static IEnumerable<object> Steps(string path)
    {
        foreach (var part in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.Contains('[') ? part[..part.IndexOf('[')] : part;
            if (name.Length > 0) yield return name;
            foreach (System.Text.RegularExpressions.Match index in System.Text.RegularExpressions.Regex.Matches(part, @"\[(\d+)\]"))
            {
                yield return int.Parse(index.Groups[1].Value);
            }
        }
    }

    private static string Join(List<object> steps) =>
        string.Concat(steps.Select((s, i) => s is int n ? $"[{n}]" : (i == 0 ? (string)s : "." + s)));

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Show(string text, int max = 120) => text.Length <= max ? text : text[..max] + $"…({text.Length})";

    /// <summary>What Kestrel refuses before the pipeline (only a real server shows it): still a problem, and the process serves on.</summary>
    [Fact]
    public async Task Requests_the_server_itself_refuses_get_a_problem_body()
    {
        await using var process = await EmbeddedApiProcess.StartAsync();
        var port = process.Http.BaseAddress!.Port;
        var cases = new (string Kind, string Raw, int Status)[]
        {
            ("NUL in the path", "GET /api/servers/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("a malformed header", "GET /api/servers HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
            ("not HTTP", "HELLO\r\n\r\n", 400),
            ("a 300 KB request line", $"GET /api/servers/{new string('a', 300_000)} HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("a 70,000-character id", $"GET /api/servers/{new string('a', 70_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414),
            ("a 100 KB query", $"GET /api/servers?q={new string('a', 100_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414),
            ("200 headers", "GET /api/servers HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: 1\r\n")) + "\r\n", 431),
            ("a 40 KB header", $"GET /api/servers HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n", 431),
        };
        foreach (var (kind, raw, status) in cases)
        {
            var clock = Stopwatch.StartNew();
            var (head, body) = await SendRawAsync(port, raw);
            Assert.True(clock.Elapsed < Bound, $"{kind}: {clock.ElapsedMilliseconds} ms");
            Assert.True(head.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"{kind}: {Show(head)}");
            Assert.Contains("Content-Type: application/problem+json", head);
            using var problem = JsonDocument.Parse(body);
            Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("detail").GetString()), kind);
        }
        // Ordinary requests on the same server are untouched, and a keep-alive connection's second, broken request is still shaped.
        var (okHead, _) = await SendRawAsync(port, "GET /api/servers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 ", okHead);
        var both = await ExchangeAsync(port, "GET /api/servers HTTP/1.1\r\nHost: x\r\n\r\nGET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json", both);
    }

    private static async Task<(string Head, string Body)> SendRawAsync(int port, string raw)
    {
        var text = await ExchangeAsync(port, raw);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0) return (text, "");
        var (head, body) = (text[..split], text[(split + 4)..]);
        if (!head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) return (head, body);
        var joined = new StringBuilder();
        for (var at = 0; ;)
        {
            var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0) return (head, joined.ToString());
            joined.Append(body, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }

    /// <summary>Sends raw bytes and answers everything received until the server closes (or 5 s pass).</summary>
    private static async Task<string> ExchangeAsync(int port, string raw)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(raw));
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything sent.
        }
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // A reset after the answer, or a keep-alive connection left open: what arrived is the answer.
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }
}
