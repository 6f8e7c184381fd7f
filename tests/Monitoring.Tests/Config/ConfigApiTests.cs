using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Configuration;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Config;

/// <summary>Configuration as code through the API: plan, apply whole or not at all, ETags, prune by owner, drift, audit.</summary>
[Collection(ApiCollection.Name)]
public sealed class ConfigApiTests(ApiFixture api)
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    private JsonObject Document(int servers, int rules, string threshold = "0.5")
    {
        var ns = $"team-{_id}";
        return new JsonObject
        {
            ["apiVersion"] = "mcp-alerting/v1",
            ["namespace"] = ns,
            ["channels"] = new JsonArray(new JsonObject
            {
                ["id"] = $"ops-{_id}", ["type"] = "webhook",
                ["config"] = new JsonObject { ["url"] = api.Webhooks.UrlFor($"/config/{_id}"), ["signingSecret"] = "s3cret-value-1" },
            }),
            ["escalationPolicies"] = new JsonArray(new JsonObject
            {
                ["id"] = $"page-{_id}", ["levels"] = new JsonArray(new JsonObject { ["delay"] = "5m", ["channels"] = new JsonArray($"ops-{_id}") }),
            }),
            ["servers"] = new JsonArray([.. Enumerable.Range(0, servers).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = $"s{i}-{_id}", ["name"] = $"Server {i}", ["endpoint"] = $"http://127.0.0.1:9/mcp/{i}",
                ["labels"] = new JsonObject { ["team"] = _id, ["tier"] = i % 2 == 0 ? "gold" : "silver" },
                ["probe"] = new JsonObject { ["enabled"] = false },
            })]),
            ["rules"] = new JsonArray([.. Enumerable.Range(0, rules).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = $"r{i}-{_id}", ["name"] = $"Errors {i}", ["condition"] = $"error_rate > {threshold}", ["for"] = "1m",
                ["channels"] = new JsonArray($"ops-{_id}"), ["selector"] = new JsonObject { ["team"] = _id },
            })]),
        };
    }

    private async Task<HttpResponseMessage> PostAsync(string url, JsonNode document, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(document.ToJsonString(), Encoding.UTF8, "application/json") };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return await api.Http.SendAsync(request);
    }

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task A_document_is_planned_applied_once_shows_drift_and_refuses_a_stale_version()
    {
        var document = Document(servers: 500, rules: 50);
        var plan = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Equal(0, plan.GetProperty("version").GetInt64());
        Assert.Equal(552, plan.GetProperty("summary").GetProperty("create").GetInt32());
        Assert.Equal(0, plan.GetProperty("summary").GetProperty("unchanged").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/rules/r0-{_id}")).StatusCode); // a plan writes nothing

        var applied = await PostAsync("/api/config/apply", document, "\"0\"");
        var result = await OkAsync(applied);
        Assert.Equal(1, result.GetProperty("version").GetInt64());
        Assert.Equal("\"1\"", applied.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/servers/s499-{_id}")).StatusCode);
        var rule = await (await api.Http.GetAsync($"/api/rules/r49-{_id}")).JsonAsync();
        Assert.Equal("error_rate > 0.5", rule.GetProperty("condition").GetString());

        // One audit entry for the whole apply, naming the version it replaced; the secret appears nowhere.
        var audit = await api.Http.GetFromJsonAsync<JsonElement>($"/api/audit?kind=config&resourceId=team-{_id}");
        var entry = Assert.Single(audit.GetProperty("items").EnumerateArray());
        Assert.Equal(0, entry.GetProperty("before").GetProperty("version").GetInt64());
        Assert.Equal(1, entry.GetProperty("after").GetProperty("version").GetInt64());
        Assert.DoesNotContain("s3cret", entry.GetRawText());

        // The same document again changes nothing, not even the version.
        var again = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Equal(552, again.GetProperty("summary").GetProperty("unchanged").GetInt32());
        Assert.Empty(again.GetProperty("changes").EnumerateArray());
        Assert.Equal(1, (await OkAsync(await PostAsync("/api/config/apply", document, "\"1\""))).GetProperty("version").GetInt64());

        // A hand edit in the API is allowed, and the next plan shows it as drift, field by field.
        var edit = await api.Http.PutJsonAsync($"/api/rules/r7-{_id}",
            $$"""{"name":"Errors 7","condition":"error_rate > 0.9","for":"1m","channels":["ops-{{_id}}"],"selector":{"team":"{{_id}}"} }""");
        Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        var drift = await OkAsync(await PostAsync("/api/config/plan", document));
        var change = Assert.Single(drift.GetProperty("changes").EnumerateArray());
        Assert.Equal("update", change.GetProperty("action").GetString());
        Assert.Equal($"r7-{_id}", change.GetProperty("id").GetString());
        var field = Assert.Single(change.GetProperty("fields").EnumerateArray());
        Assert.Equal("condition", field.GetProperty("path").GetString());
        Assert.Equal("error_rate > 0.9", field.GetProperty("before").GetString());
        Assert.Equal("error_rate > 0.5", field.GetProperty("after").GetString());

        // A changed secret shows that it changes, never what it is.
        document["channels"]![0]!["config"]!["signingSecret"] = "s3cret-value-2";
        var secret = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.DoesNotContain("s3cret", secret.GetRawText());
        Assert.Contains(secret.GetProperty("changes").EnumerateArray(), c => c.GetProperty("id").GetString() == $"ops-{_id}"
            && c.GetProperty("fields").EnumerateArray().Any(f => f.GetProperty("after").GetString() == "<redacted>"));

        // Two pipelines planned on version 1 apply at once: one lands whole, the other is refused and says why.
        var changed = Document(500, 50, threshold: "0.7");
        changed["channels"]![0]!["config"]!["signingSecret"] = "s3cret-value-2";
        var answers = await Task.WhenAll(PostAsync("/api/config/apply", document, "\"1\""), PostAsync("/api/config/apply", changed, "\"1\""));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
        var refused = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Conflict);
        Assert.Contains("version 2", await refused.AssertProblemAsync(409));
        var winner = answers[0].StatusCode == HttpStatusCode.OK ? "0.5" : "0.7";
        var conditions = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            (await (await api.Http.GetAsync($"/api/rules/r{i}-{_id}")).JsonAsync()).GetProperty("condition").GetString()));
        Assert.All(conditions, c => Assert.Equal($"error_rate > {winner}", c)); // one document whole, never a mix

    }

    private async Task<HttpResponseMessage> PostYamlAsync(string url, string yaml, string type = "application/yaml") =>
        await api.Http.PostAsync(url, new StringContent(yaml, Encoding.UTF8, type));

    [Fact]
    public async Task A_document_sent_as_yaml_is_planned_and_applied_as_its_json_and_its_errors_name_their_lines()
    {
        // Two documents in one body (as two files of a folder), the second adding rules: one namespace, merged.
        var yaml = $$"""
            apiVersion: mcp-alerting/v1
            namespace: yaml-{{_id}}
            channels:
              - id: yops-{{_id}}
                type: webhook
                config: { url: "{{api.Webhooks.UrlFor($"/yaml/{_id}")}}" }
            servers:
              - id: ys-{{_id}}
                name: YAML server
                endpoint: http://127.0.0.1:9/mcp
                labels: { team: y{{_id}} }
                probe: { enabled: false }
            ---
            namespace: yaml-{{_id}}
            rules:
              - id: yr-{{_id}}
                name: Errors
                condition: error_rate > 0.5
                for: 1m
                channels: [yops-{{_id}}]
                selector: { team: y{{_id}} }
            """;
        var plan = await OkAsync(await PostYamlAsync("/api/config/plan", yaml));
        Assert.Equal(3, plan.GetProperty("summary").GetProperty("create").GetInt32());
        var applied = await OkAsync(await PostYamlAsync("/api/config/apply", yaml, "text/yaml"));
        Assert.Equal(1, applied.GetProperty("version").GetInt64());
        var rule = await (await api.Http.GetAsync($"/api/rules/yr-{_id}")).JsonAsync();
        Assert.Equal("error_rate > 0.5", rule.GetProperty("condition").GetString());
        Assert.Equal(0, (await OkAsync(await PostYamlAsync("/api/config/plan", yaml))).GetProperty("changes").GetArrayLength());

        // The console says who owns what: the document's namespace, or "by hand".
        var rules = await api.Http.GetStringAsync("/config/rules");
        Assert.Matches($"yr-{_id}</code>.*?<td class=\"owner\"><a href=\"/config/namespaces\"><code>yaml-{_id}</code>", rules.Replace("\n", " "));
        Assert.Contains($"declared by namespace yaml-{_id}", await api.Http.GetStringAsync($"/servers/ys-{_id}"));
        var namespaces = await api.Http.GetStringAsync("/config/namespaces");
        var row = System.Text.RegularExpressions.Regex.Match(namespaces.Replace("\n", " "), $"<code>yaml-{_id}</code></td><td class=\"num\">1</td>(.*?)</tr>");
        Assert.True(row.Success, namespaces);
        Assert.All(new[] { "1 server,", "1 rule", "1 channel" }, part => Assert.Contains(part, row.Groups[1].Value + ","));

        // A value the checks refuse is named by path and by the line it was written on; nothing is written.
        var wrong = yaml.Replace("for: 1m", "for: soon");
        var line = wrong.Split('\n').ToList().FindIndex(l => l.Contains("for: soon")) + 1;
        var detail = await (await PostYamlAsync("/api/config/apply", wrong)).AssertProblemAsync(400);
        Assert.Contains("rules[0].for", detail);
        Assert.Contains($"(line {line})", detail);
        // A value of the wrong type (binding) is named at its line too, not at a line of the JSON it became.
        var typed = yaml.Replace("name: YAML server", "name: [not, text]");
        line = typed.Split('\n').ToList().FindIndex(l => l.Contains("[not, text]")) + 1;
        detail = await (await PostYamlAsync("/api/config/plan", typed)).AssertProblemAsync(400);
        Assert.Contains($"(line {line})", detail);
        // Broken YAML, a key twice, an alias (the billion laughs' tool) and a second namespace: each refused with its line.
        foreach (var (body, expected) in new[]
        {
            ("namespace: a\nrules: [\n", "body:"),
            ($"namespace: yaml-{_id}\nnamespace: again\n", "body:2: is not valid YAML: Duplicate key namespace"),
            ($"namespace: yaml-{_id}\nrules: &r []\ninhibitions: *r\n", "anchors and aliases are not read"),
            ($"namespace: yaml-{_id}\n---\nnamespace: other\n", "one document, one namespace"),
            ("", "is empty"),
        })
        {
            detail = await (await PostYamlAsync("/api/config/apply", body)).AssertProblemAsync(400);
            Assert.Contains(expected, detail);
        }
        var after = await OkAsync(await PostYamlAsync("/api/config/plan", yaml));
        Assert.Equal(1, after.GetProperty("version").GetInt64());
        Assert.Equal(0, after.GetProperty("changes").GetArrayLength()); // none of the refused bodies changed anything
    }

    [Fact]
    public async Task An_invalid_document_is_refused_whole_with_every_error_at_its_place_and_nothing_written()
    {
        var document = Document(servers: 3, rules: 3);
        document["rules"]![1]!["condition"] = "error_rate >> 0.5";
        document["rules"]![2]!["for"] = "soon";
        document["servers"]![2]!["endpoint"] = "not a url";
        document["rules"]![0]!["channels"] = new JsonArray("nowhere");
        var response = await PostAsync("/api/config/apply", document);
        await response.AssertProblemAsync(400);
        var errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("rules[2].for", out _), errors.GetRawText());
        Assert.True(errors.TryGetProperty("servers[2].endpoint", out _), errors.GetRawText());

        // The request's own checks passed; the cluster's (the condition language, references) refuse it next, still whole.
        document["rules"]![2]!["for"] = "1m";
        document["servers"]![2]!["endpoint"] = "http://127.0.0.1:9/mcp";
        response = await PostAsync("/api/config/apply", document);
        await response.AssertProblemAsync(400);
        errors = (await response.JsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("rules[1].condition", out _), errors.GetRawText());
        Assert.Contains("'nowhere' is not a channel", errors.GetProperty("rules[0].channels[0]")[0].GetString());
        foreach (var url in new[] { $"/api/channels/ops-{_id}", $"/api/servers/s0-{_id}", $"/api/rules/r2-{_id}", $"/api/escalation-policies/page-{_id}" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync(url)).StatusCode);
        }
    }

    [Fact]
    public async Task Prune_deletes_only_what_the_namespace_owns_and_another_namespace_cannot_take_it()
    {
        var document = Document(servers: 4, rules: 2);
        await OkAsync(await PostAsync("/api/config/apply", document));
        var handMade = await api.Http.PostJsonAsync("/api/servers", $$"""{"id":"hand-{{_id}}","name":"Hand","endpoint":"http://127.0.0.1:9/mcp","probe":{"enabled":false} }""");
        Assert.Equal(HttpStatusCode.Created, handMade.StatusCode);

        // Another team's document may not declare what this one owns.
        var other = new JsonObject { ["namespace"] = $"other-{_id}", ["servers"] = new JsonArray(document["servers"]![0]!.DeepClone()) };
        var refused = await PostAsync("/api/config/apply", other);
        await refused.AssertProblemAsync(400);
        Assert.Contains($"owned by namespace 'team-{_id}'", (await refused.JsonAsync()).GetProperty("errors").GetProperty("servers[0]")[0].GetString());

        // Without prune, what the document dropped is kept and listed; with it, deleted. The hand-made server stays.
        document["servers"]!.AsArray().RemoveAt(3);
        document["rules"]!.AsArray().RemoveAt(1);
        var kept = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Equal([$"server/s3-{_id}", $"rule/r1-{_id}"], kept.GetProperty("notInDocument").EnumerateArray().Select(e => e.GetString()).Order().Reverse());
        var pruned = await OkAsync(await PostAsync("/api/config/apply?prune=true", document));
        Assert.Equal(2, pruned.GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/servers/s3-{_id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/rules/r1-{_id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/servers/hand-{_id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/servers/s2-{_id}")).StatusCode);

        // Export gives back a document that applies as no change at all.
        var export = await api.Http.GetFromJsonAsync<JsonObject>($"/api/config/export?namespace=team-{_id}");
        Assert.DoesNotContain("s3cret", export!.ToJsonString());
        var roundTrip = await OkAsync(await PostAsync("/api/config/plan", export));
        Assert.Empty(roundTrip.GetProperty("changes").EnumerateArray());
        Assert.Equal(6, roundTrip.GetProperty("summary").GetProperty("unchanged").GetInt32());
    }

    /// <summary>A team's people, their schedule and the policy that pages it, as one document.</summary>
    private JsonObject OnCallDocument()
    {
        var document = new JsonObject
        {
            ["apiVersion"] = "mcp-alerting/v1",
            ["namespace"] = $"people-{_id}",
            ["channels"] = new JsonArray(new JsonObject
            {
                ["id"] = $"mail-{_id}", ["type"] = "email",
                ["config"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = 2525, ["security"] = "none", ["from"] = "alerts@example.com", ["to"] = new JsonArray("ops@example.com") },
            }),
            ["users"] = new JsonArray([.. new[] { "ana", "ben" }.Select(name => (JsonNode)new JsonObject
            {
                ["id"] = $"{name}-{_id}", ["name"] = name, ["timeZone"] = "Europe/Berlin",
                ["contactMethods"] = new JsonArray(new JsonObject { ["id"] = "mail", ["type"] = "email", ["channel"] = $"mail-{_id}", ["address"] = $"{name}@example.com" }),
            })]),
            ["schedules"] = new JsonArray(new JsonObject
            {
                ["id"] = $"primary-{_id}", ["timeZone"] = "Europe/Berlin",
                ["layers"] = new JsonArray(new JsonObject { ["name"] = "weekly", ["users"] = new JsonArray($"ana-{_id}", $"ben-{_id}"), ["start"] = "2026-03-02T09:00", ["shift"] = "1w" }),
            }),
            ["escalationPolicies"] = new JsonArray(new JsonObject
            {
                ["id"] = $"people-{_id}",
                ["levels"] = new JsonArray(new JsonObject { ["delay"] = "0s", ["schedules"] = new JsonArray($"primary-{_id}") },
                    new JsonObject { ["delay"] = "10m", ["users"] = new JsonArray($"ben-{_id}") }),
            }),
        };
        return document;
    }

    [Fact]
    public async Task People_and_schedules_are_declared_planned_applied_exported_and_pruned_like_every_resource()
    {
        var document = OnCallDocument();
        var plan = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Equal(5, plan.GetProperty("summary").GetProperty("create").GetInt32());
        Assert.Equal(["channel", "user", "user", "schedule", "escalation-policy"], plan.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("kind").GetString()));
        await OkAsync(await PostAsync("/api/config/apply", document));
        var onCall = await api.Http.GetFromJsonAsync<JsonElement>($"/api/schedules/primary-{_id}/oncall?at=2026-03-03T12:00:00Z");
        Assert.Equal([$"ana-{_id}"], onCall.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        var policy = await api.Http.GetFromJsonAsync<JsonElement>($"/api/escalation-policies/people-{_id}");
        Assert.Equal($"primary-{_id}", policy.GetProperty("levels")[0].GetProperty("schedules")[0].GetString());

        // An override taken in the console stays: the document leaves overrides out, so they are not its to undo.
        var taken = await api.Http.PostJsonAsync($"/api/schedules/primary-{_id}/overrides",
            $$"""{"user":"ben-{{_id}}","start":"2026-03-03T08:00:00Z","end":"2026-03-03T16:00:00Z","replaces":"ana-{{_id}}"}""");
        Assert.Equal(HttpStatusCode.Created, taken.StatusCode);
        var again = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Empty(again.GetProperty("changes").EnumerateArray());
        Assert.Equal(5, again.GetProperty("summary").GetProperty("unchanged").GetInt32());

        // A changed field is shown field by field; applied, the override is still there.
        document["users"]![0]!["timeZone"] = "America/New_York";
        document["schedules"]![0]!["layers"]![0]!["shift"] = "2w";
        var changed = await OkAsync(await PostAsync("/api/config/plan", document));
        Assert.Equal(["layers[0].shift", "timeZone"], changed.GetProperty("changes").EnumerateArray().SelectMany(c => c.GetProperty("fields").EnumerateArray()).Select(f => f.GetProperty("path").GetString()).Order());
        await OkAsync(await PostAsync("/api/config/apply", document));
        var schedule = await api.Http.GetFromJsonAsync<JsonElement>($"/api/schedules/primary-{_id}");
        Assert.Equal("2w", schedule.GetProperty("layers")[0].GetProperty("shift").GetString());
        Assert.Single(schedule.GetProperty("overrides").EnumerateArray());

        // Overrides the document does declare are its own: given without ids, they read the same every time.
        document["schedules"]![0]!["overrides"] = new JsonArray(new JsonObject { ["user"] = $"ben-{_id}", ["start"] = "2026-04-01T00:00:00Z", ["end"] = "2026-04-02T00:00:00Z" });
        await OkAsync(await PostAsync("/api/config/apply", document));
        schedule = await api.Http.GetFromJsonAsync<JsonElement>($"/api/schedules/primary-{_id}");
        Assert.Equal("2026-04-01T00:00:00+00:00", Assert.Single(schedule.GetProperty("overrides").EnumerateArray()).GetProperty("start").GetString());
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray());

        // Export gives the people and the schedule back, without overrides, as a document that changes nothing.
        var export = await api.Http.GetFromJsonAsync<JsonObject>($"/api/config/export?namespace=people-{_id}");
        Assert.Equal(2, export!["users"]!.AsArray().Count);
        Assert.Null(export["schedules"]![0]!["overrides"]);
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", export))).GetProperty("changes").EnumerateArray());

        // A person a schedule outside the document names cannot be pruned: refused whole, before anything is written.
        var outside = await api.Http.PostJsonAsync("/api/schedules", $$"""{"id":"hand-{{_id}}","timeZone":"UTC","layers":[{"users":["ben-{{_id}}"],"start":"2026-03-02T09:00","shift":"1d"}]}""");
        Assert.Equal(HttpStatusCode.Created, outside.StatusCode);
        var withoutBen = OnCallDocument();
        withoutBen["users"]!.AsArray().RemoveAt(1);
        withoutBen["schedules"]![0]!["layers"]![0]!["users"] = new JsonArray($"ana-{_id}");
        withoutBen["escalationPolicies"]![0]!["levels"]!.AsArray().RemoveAt(1);
        var refused = await PostAsync("/api/config/apply?prune=true", withoutBen);
        await refused.AssertProblemAsync(400);
        Assert.Contains($"user/ben-{_id} is named by schedule/hand-{_id} outside this document", (await refused.JsonAsync()).GetProperty("errors").GetProperty("prune")[0].GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/users/ben-{_id}")).StatusCode);
        Assert.Equal(2, (await api.Http.GetFromJsonAsync<JsonElement>($"/api/escalation-policies/people-{_id}")).GetProperty("levels").GetArrayLength());

        // Once that schedule is gone, the override of the document's own schedule still names the person: kept, since
        // this document leaves the overrides out. Declaring none drops it, and the prune deletes the person.
        Assert.Equal(HttpStatusCode.NoContent, (await api.Http.DeleteAsync($"/api/schedules/hand-{_id}")).StatusCode);
        refused = await PostAsync("/api/config/apply?prune=true", withoutBen);
        await refused.AssertProblemAsync(400);
        Assert.Contains($"user/ben-{_id} is named by overrides of schedule/primary-{_id}", (await refused.JsonAsync()).GetProperty("errors").GetProperty("prune")[0].GetString());
        withoutBen["schedules"]![0]!["overrides"] = new JsonArray();
        var pruned = await OkAsync(await PostAsync("/api/config/apply?prune=true", withoutBen));
        Assert.Equal(1, pruned.GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/users/ben-{_id}")).StatusCode);
    }

    [Fact]
    public async Task Heartbeats_are_declared_in_the_document_and_their_ping_url_is_made_on_request()
    {
        var document = new JsonObject
        {
            ["namespace"] = $"jobs-{_id}",
            ["heartbeats"] = new JsonArray(new JsonObject
            {
                ["id"] = $"nightly-{_id}", ["name"] = "Nightly", ["cron"] = "0 2 * * *", ["timeZone"] = "Europe/Berlin", ["grace"] = "30m",
                ["labels"] = new JsonObject { ["team"] = "data" },
            }),
        };
        var broken = (JsonObject)document.DeepClone();
        broken["heartbeats"]![0]!["cron"] = "0 25 * * *";
        var refused = await PostAsync("/api/config/apply", broken);
        await refused.AssertProblemAsync(400);
        Assert.Contains("not a cron expression", (await refused.JsonAsync()).GetProperty("errors").GetProperty("heartbeats[0].cron")[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/heartbeats/nightly-{_id}")).StatusCode);

        Assert.Equal(1, (await OkAsync(await PostAsync("/api/config/apply", document))).GetProperty("summary").GetProperty("create").GetInt32());
        var view = await (await api.Http.GetAsync($"/api/heartbeats/nightly-{_id}")).JsonAsync();
        Assert.Equal("new", view.GetProperty("status").GetString());
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray());

        // Made by a document, its URL was shown to nobody: one is made on request, and it pings.
        var token = await (await api.Http.PostAsync($"/api/heartbeats/nightly-{_id}/token", null)).JsonAsync();
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync(new Uri(token.GetProperty("pingUrl").GetString()!).AbsolutePath)).StatusCode);
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray()); // pings are not configuration

        document["heartbeats"]![0]!["grace"] = "1h";
        var change = Assert.Single((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray());
        Assert.Equal("grace", Assert.Single(change.GetProperty("fields").EnumerateArray()).GetProperty("path").GetString());
        var export = await api.Http.GetFromJsonAsync<JsonObject>($"/api/config/export?namespace=jobs-{_id}");
        Assert.Equal("30m", export!["heartbeats"]![0]!["grace"]!.GetValue<string>());
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", export))).GetProperty("changes").EnumerateArray());

        document.Remove("heartbeats");
        Assert.Equal(1, (await OkAsync(await PostAsync("/api/config/apply?prune=true", document))).GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/heartbeats/nightly-{_id}")).StatusCode);
    }

    [Fact]
    public async Task Discovery_sources_are_declared_in_the_document_and_pruning_one_deregisters_its_servers()
    {
        await using var registry = await StandInRegistry.StartAsync(() => api.Time.GetUtcNow());
        registry.Put("io.example/search", ("streamable-http", "http://127.0.0.1:9/search/mcp"));
        await using var kube = await StandInKubernetes.StartAsync();
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("maps", "tiles", "http://127.0.0.1:9/tiles/mcp", verified: true, new() { ["tier"] = "mcp" }));
        var document = new JsonObject
        {
            ["namespace"] = $"found-{_id}",
            ["discoverySources"] = new JsonArray(
                new JsonObject { ["id"] = $"d-{_id}", ["url"] = registry.BaseUrl, ["interval"] = "10m", ["labels"] = new JsonObject { ["team"] = "search" } },
                new JsonObject
                {
                    ["id"] = $"k-{_id}", ["kind"] = "kubernetes", ["url"] = kube.BaseUrl, ["namespaces"] = new JsonArray("maps"), ["labelSelector"] = "tier=mcp",
                    ["relabel"] = new JsonArray(new JsonObject { ["sourceLabels"] = new JsonArray("__meta_kubernetes_namespace"), ["targetLabel"] = "team" }),
                }),
        };
        var broken = (JsonObject)document.DeepClone();
        broken["discoverySources"]![0]!["url"] = "registry.example.com";
        var refused = await PostAsync("/api/config/apply", broken);
        await refused.AssertProblemAsync(400);
        Assert.True((await refused.JsonAsync()).GetProperty("errors").TryGetProperty("discoverySources[0].url", out _));

        await OkAsync(await PostAsync("/api/config/apply", document));
        Assert.Equal(HttpStatusCode.OK, (await api.Http.PostAsync($"/api/discovery/sources/d-{_id}/sync", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/servers/d-{_id}.io.example-search")).StatusCode);
        await Eventually.TrueAsync(async () => (await api.Http.GetAsync($"/api/servers/k-{_id}.maps.tiles")).StatusCode == HttpStatusCode.OK, "the watched MCPServer to be registered");
        var tiles = await (await api.Http.GetAsync($"/api/servers/k-{_id}.maps.tiles")).JsonAsync();
        Assert.Equal("maps", tiles.GetProperty("labels").GetProperty("team").GetString());
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray()); // polls are not configuration
        var export = await api.Http.GetFromJsonAsync<JsonObject>($"/api/config/export?namespace=found-{_id}");
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", export!))).GetProperty("changes").EnumerateArray());

        document.Remove("discoverySources");
        Assert.Equal(2, (await OkAsync(await PostAsync("/api/config/apply?prune=true", document))).GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/servers/d-{_id}.io.example-search")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/servers/k-{_id}.maps.tiles")).StatusCode);
    }

    [Fact]
    public async Task Objectives_are_declared_in_the_document_planned_exported_and_pruned()
    {
        var document = new JsonObject
        {
            ["namespace"] = $"slo-{_id}",
            ["slos"] = new JsonArray(new JsonObject
            {
                ["id"] = $"lat-{_id}", ["name"] = "Search latency", ["selector"] = new JsonObject { ["team"] = $"t-{_id}" }, ["tool"] = "search",
                ["indicator"] = "latency", ["latencyThreshold"] = "1s", ["objective"] = 95, ["window"] = "28d", ["labels"] = new JsonObject { ["team"] = "search" },
            }),
        };
        var broken = (JsonObject)document.DeepClone();
        broken["slos"]![0]!["latencyThreshold"] = "300ms";
        var refused = await PostAsync("/api/config/apply", broken);
        await refused.AssertProblemAsync(400);
        Assert.True((await refused.JsonAsync()).GetProperty("errors").TryGetProperty("slos[0].latencyThreshold", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/slos/lat-{_id}")).StatusCode);

        await OkAsync(await PostAsync("/api/config/apply", document));
        var stored = await (await api.Http.GetAsync($"/api/slos/lat-{_id}")).JsonAsync();
        Assert.Equal(("latency", "1s", "28d"), (stored.GetProperty("indicator").GetString(), stored.GetProperty("latencyThreshold").GetString(), stored.GetProperty("window").GetString()));
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray()); // evaluations are not configuration
        document["slos"]![0]!["objective"] = 99;
        var change = Assert.Single((await OkAsync(await PostAsync("/api/config/plan", document))).GetProperty("changes").EnumerateArray());
        Assert.Equal("objective", Assert.Single(change.GetProperty("fields").EnumerateArray()).GetProperty("path").GetString());
        var export = await api.Http.GetFromJsonAsync<JsonObject>($"/api/config/export?namespace=slo-{_id}");
        Assert.Equal(95, export!["slos"]![0]!["objective"]!.GetValue<double>());
        Assert.Empty((await OkAsync(await PostAsync("/api/config/plan", export))).GetProperty("changes").EnumerateArray());

        document.Remove("slos");
        Assert.Equal(1, (await OkAsync(await PostAsync("/api/config/apply?prune=true", document))).GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"/api/slos/lat-{_id}")).StatusCode);
    }

    [Fact]
    public async Task A_document_naming_people_wrongly_is_refused_at_each_place_and_writes_nothing()
    {
        var document = OnCallDocument();
        document["users"]![0]!["timeZone"] = "Mars/Olympus";
        document["users"]![1]!["contactMethods"]![0]!["channel"] = $"nowhere-{_id}";
        document["schedules"]![0]!["layers"]![0]!["users"] = new JsonArray($"ana-{_id}", $"carl-{_id}");
        document["schedules"]![0]!["layers"]![0]!["shift"] = "0d";
        document["escalationPolicies"]![0]!["levels"]![1]!["users"] = new JsonArray($"dora-{_id}");
        var refused = await PostAsync("/api/config/apply", document);
        await refused.AssertProblemAsync(400);
        var errors = (await refused.JsonAsync()).GetProperty("errors");
        Assert.Contains("IANA", errors.GetProperty("users[0].timeZone")[0].GetString());
        Assert.Contains($"'nowhere-{_id}' is not a channel", errors.GetProperty("users[1].contactMethods[0].channel")[0].GetString());
        Assert.Contains($"'carl-{_id}' is not a user", errors.GetProperty("schedules[0].layers[0].users[1]")[0].GetString());
        Assert.Contains("at least 1", errors.GetProperty("schedules[0].layers[0].shift.count")[0].GetString());
        Assert.Contains($"'dora-{_id}' is not a user", errors.GetProperty("escalationPolicies[0].levels[1].users[0]")[0].GetString());
        foreach (var url in new[] { $"/api/channels/mail-{_id}", $"/api/users/ana-{_id}", $"/api/schedules/primary-{_id}", $"/api/escalation-policies/people-{_id}" })
        {
            Assert.True((await api.Http.GetAsync(url)).StatusCode == HttpStatusCode.NotFound, url);
        }
    }

    [Fact]
    public async Task A_write_that_fails_part_way_puts_back_everything_the_apply_had_written()
    {
        var document = Document(servers: 3, rules: 2);
        // Hold the servers' registration (channels and policies are written by then; rules come after), break one rule's grain, let go.
        api.Faults.Hold("IMcpServerGrain.RegisterAsync");
        var applying = PostAsync("/api/config/apply", document);
        try
        {
            await Eventually.TrueAsync(() => api.Faults.Waiting > 0, "the apply to reach its servers");
            Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/channels/ops-{_id}")).StatusCode); // written so far
            api.Faults.Fail($"r1-{_id}");
        }
        finally
        {
            api.Faults.Release("IMcpServerGrain.RegisterAsync");
        }
        var refused = await applying;
        Assert.Contains("was put back", await refused.AssertProblemAsync(409));
        api.Faults.Heal($"r1-{_id}");
        foreach (var url in new[] { $"/api/channels/ops-{_id}", $"/api/servers/s0-{_id}", $"/api/servers/s2-{_id}", $"/api/rules/r0-{_id}", $"/api/escalation-policies/page-{_id}" })
        {
            Assert.True((await api.Http.GetAsync(url)).StatusCode == HttpStatusCode.NotFound, url);
        }
        var namespaces = await api.Http.GetFromJsonAsync<JsonElement>("/api/config/namespaces");
        Assert.DoesNotContain(namespaces.GetProperty("items").EnumerateArray(), n => n.GetProperty("name").GetString() == $"team-{_id}");

        // Healed, the same document applies whole.
        Assert.Equal(1, (await OkAsync(await PostAsync("/api/config/apply", document))).GetProperty("version").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"/api/rules/r1-{_id}")).StatusCode);
    }

    [Fact]
    public async Task An_apply_cut_short_is_journaled_with_its_secrets_sealed_and_carried_to_its_end_by_the_next_activation()
    {
        var storage = api.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Monitoring.Settings.StorageNames.Rules);
        var configId = GrainId.Create("config", IConfigGrain.Key);
        var document = Document(servers: 2, rules: 2);

        // While the apply is at its first rule, its journal is stored, secrets sealed.
        api.Faults.Hold("IAlertRuleGrain.CreateAsync");
        Task<HttpResponseMessage> applying;
        GrainState<ConfigState> stored;
        try
        {
            applying = PostAsync("/api/config/apply", document);
            await Eventually.TrueAsync(() => api.Faults.Waiting > 0, "the apply to reach its first rule");
            stored = new GrainState<ConfigState>();
            await storage.ReadStateAsync("config", configId, stored);
        }
        finally
        {
            api.Faults.Release("IAlertRuleGrain.CreateAsync");
        }
        await OkAsync(await applying);
        var journal = Assert.IsType<ConfigApply>(stored.State!.Pending);
        Assert.Equal($"team-{_id}", journal.Desired.Namespace);
        Assert.StartsWith("dp1:", journal.Desired.Channels[0].Config);
        Assert.DoesNotContain("s3cret", System.Text.Json.JsonSerializer.Serialize(stored.State));

        // A silo died with that journal stored: the next activation writes the apply to its end. Here the journal
        // names a second namespace, its resources not yet written, and the grain is deactivated before it is stored.
        var config = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IConfigGrain>(IConfigGrain.Key);
        await config.AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var management = api.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await Eventually.TrueAsync(async () => !(await management.GetActiveGrains(configId.Type)).Contains(configId), "the config grain to deactivate");
        var later = new GrainState<ConfigState>();
        await storage.ReadStateAsync("config", configId, later);
        var second = journal with
        {
            Desired = journal.Desired with
            {
                Namespace = $"later-{_id}",
                Channels = [journal.Desired.Channels[0] with { Id = $"later-{_id}" }],
                Policies = [], Servers = [], Rules = [],
            },
            Writes = [Monitoring.Configuration.ConfigKey.Channel($"later-{_id}")],
            Deletes = [],
        };
        later.State!.Pending = second;
        await storage.WriteStateAsync("config", configId, later);

        var namespaces = await api.Http.GetFromJsonAsync<JsonElement>("/api/config/namespaces");
        Assert.Contains(namespaces.GetProperty("items").EnumerateArray(), n => n.GetProperty("name").GetString() == $"later-{_id}" && n.GetProperty("version").GetInt64() == 1);
        var channel = await api.Http.GetFromJsonAsync<JsonElement>($"/api/channels/later-{_id}");
        Assert.Equal("<redacted>", channel.GetProperty("config").GetProperty("signingSecret").GetString());
        var afterwards = new GrainState<ConfigState>();
        await storage.ReadStateAsync("config", configId, afterwards);
        Assert.Null(afterwards.State!.Pending);
    }

    [Fact]
    public async Task The_published_schema_is_the_one_the_cluster_serves()
    {
        var served = await api.Http.GetAsync("/api/config/schema");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("application/schema+json", served.Content.Headers.ContentType?.MediaType);
        var text = await served.Content.ReadAsStringAsync();
        var committed = File.ReadAllText(Repository.PathTo("docs", "config.schema.json"));
        Assert.True(committed.TrimEnd() == text.TrimEnd(), "docs/config.schema.json is stale: regenerate it with `dotnet run --project src/Cli -- schema > docs/config.schema.json`");
        var schema = JsonNode.Parse(text)!;
        Assert.Equal(["namespace"], schema["required"]!.AsArray().Select(n => (string?)n));
        Assert.NotNull(schema["properties"]!["routing"]!["properties"]!["receivers"]);
        // Every list a document takes is in the schema, so an editor knows it.
        var taken = typeof(Monitoring.Api.Config.ConfigDocument).GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).Where(n => n != "equalityContract");
        Assert.Equal(taken.Order(), schema["properties"]!.AsObject().Select(p => p.Key).Order());
    }
}
