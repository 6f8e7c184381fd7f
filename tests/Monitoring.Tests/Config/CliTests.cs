using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Config;

/// <summary>The command line as a process: validate offline, then diff, apply, export and prune against the product running as a process.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cli-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A valid document; each case below changes one line of it (line numbers are 1-based, as printed).</summary>
    private const string Valid = """
        apiVersion: mcp-alerting/v1
        namespace: payments
        channels:
          - id: payments-hook
            type: webhook
            config:
              url: http://127.0.0.1:9/hook
              signingSecret: {env: PAYMENTS_SIGNING}
        escalationPolicies:
          - id: payments-page
            levels:
              - delay: 5m
                channels: [payments-hook]
            repeat: 1
        servers:
          - id: pay-1
            name: Payments 1
            endpoint: http://127.0.0.1:9/mcp
            labels: {team: payments}
            probe: {enabled: false}
        rules:
          - id: pay-errors
            name: Payments errors
            condition: error_rate > 0.05
            for: 1m
            channels: [payments-hook]
            subjectTemplate: "{{ alert.ruleName }} on {{ alert.serverName }}"
        timeIntervals:
          - name: office-hours
            location: Europe/Berlin
            timeIntervals:
              - weekdays: ["monday:friday"]
                times: [{startTime: "09:00", endTime: "17:00"}]
        inhibitions:
          - id: down-hides-errors
            sourceMatchers: ["alertname=Server down"]
            targetMatchers: ["severity=warning"]
            equal: [server_id]
        users:
          - id: ana
            name: Ana
            timeZone: Europe/Berlin
            contactMethods:
              - {id: hook, type: webhook, channel: payments-hook}
        schedules:
          - id: payments-primary
            timeZone: Europe/Berlin
            layers:
              - name: weekly
                users: [ana]
                start: "2026-03-02T09:00"
                shift: 1w
                restrictions: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
        """;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    public static TheoryData<int, string, string, string> BrokenLines => new()
    {
        // line, its replacement, the path the error names, a part of its message
        { 2, "namespace: \"pay ments\"", "namespace", "is required" },
        { 4, "  - id: \"hook\u0001x\"", "channels[0].id", "" },
        { 7, "      url: http://169.254.169.254/hook", "channels[0].config.url", "can never be reached" },
        { 7, "      nope: 1", "channels[0].config", "" },
        { 12, "      - delay: soon", "escalationPolicies[0].levels[0].delay", "not a duration" },
        { 14, "    repeat: three", "escalationPolicies[0].repeat", "wrong type" },
        { 16, "  - id: pay-errors", "", "" }, // a server id may equal a rule's: no error (checked as valid below)
        { 18, "    endpoint: not-a-url", "servers[0].endpoint", "absolute http(s) URL" },
        { 19, "    labels: {\"bad-label\": x}", "servers[0].labels", "" },
        { 20, "    probe: {enabled: false, nme: 1}", "servers[0].probe.nme", "not a known field" },
        { 24, "    condition: error_rate >> 0.05", "rules[0].condition", "unexpected" },
        { 25, "    for: soon", "rules[0].for", "not a duration" },
        { 26, "    channels: [payments-hook, payments-hook]", "rules[0].channels", "twice" },
        { 27, "    subjectTemplate: \"{{ alert.ruleName \"", "rules[0].subjectTemplate", "" },
        { 30, "    location: Mars/Olympus", "timeIntervals[0].location", "" },
        { 32, "      - weekdays: [\"funday\"]", "timeIntervals[0].timeIntervals[0].weekdays[0]", "not a value or range" },
        { 36, "    sourceMatchers: [\"alertname=~(\"]", "inhibitions[0].sourceMatchers[0]", "" },
        { 38, "    equal: [\"server-id\"]", "inhibitions[0].equal[0]", "label name" },
        { 3, "channels: [oops", "", "is not valid YAML" },
        { 17, "    name: \"Payments \\ud800 1\"", "", "invalid Unicode surrogates" },
        { 17, "    name: \"" + new string('x', 201) + "\"", "servers[0].name", "at most 200 characters" },
        { 23, "    name: Payments errors\n    name: again", "", "Duplicate key" },
        { 16, "  - id: \"pay 1\"", "servers[0].id", "letters, digits" },
        { 19, "    labels: [team, payments]", "servers[0].labels", "wrong type" },
        { 19, "    labels: &l {team: payments}\n    annotations: *l", "servers[0].labels", "anchors and aliases are not read" },
        { 42, "    timeZone: Mars/Olympus", "users[0].timeZone", "IANA database" },
        { 44, "      - {id: hook, type: email, channel: payments-hook, address: ana@example.com}", "users[0].contactMethods[0].channel", "an email contact needs an email channel" },
        { 44, "      - {id: hook, type: slack, channel: payments-hook, address: nobody}", "users[0].contactMethods[0].address", "not a Slack user id" },
        { 47, "    timeZone: Europe/Berlinn", "schedules[0].timeZone", "IANA database" },
        { 50, "        users: []", "schedules[0].layers[0].users", "1 to 100 user ids" },
        { 51, "        start: 2026-03-02", "schedules[0].layers[0].start", "local date and time" },
        { 52, "        shift: 0d", "schedules[0].layers[0].shift.count", "at least 1" },
        { 53, "        restrictions: [{days: [mon], from: \"09:00\", to: \"09:00\"}]", "schedules[0].layers[0].restrictions[0]", "never matches" },
    };

    [Theory]
    [MemberData(nameof(BrokenLines))]
    public async Task Validate_works_offline_and_names_the_file_line_and_path_of_every_error(int line, string replacement, string path, string message)
    {
        var lines = Valid.Split('\n');
        lines[line - 1] = replacement;
        var file = Write("team.yaml", string.Join('\n', lines));
        var result = await CliProcess.RunAsync(server: "http://127.0.0.1:9", "validate", file); // nothing listens there: no cluster is asked
        if (path.Length == 0 && message.Length == 0)
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            return;
        }
        Assert.True(result.ExitCode == 1, result.ToString());
        var error = result.Error.Split('\n').FirstOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal) && (path.Length == 0 || l.Contains($": {path}")));
        Assert.True(error is not null, result.ToString());
        Assert.StartsWith($"error: {file}:", error);
        if (path.Length > 0) Assert.Contains($"{file}:{line}: {path}", error);
        Assert.Contains(message, error);
        Assert.DoesNotContain("Unhandled", result.Error);
    }

    [Fact]
    public async Task Validate_passes_a_good_document_says_what_only_the_cluster_can_check_and_reads_a_folder()
    {
        var file = Write("team.yaml", Valid.Replace("channels: [payments-hook]\n    subject", "channels: [payments-hook, shared-ops]\n    subject"));
        var result = await CliProcess.RunAsync(null, "validate", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("valid: namespace payments: 1 servers, 1 rules, 1 channels, 1 users, 1 schedules, 1 escalation policies, 1 time intervals, 1 inhibitions, 0 heartbeats, 0 discovery sources, 0 SLOs", result.Out);
        Assert.Contains($"warning: {file}:8: channels[0].config.signingSecret: the environment variable PAYMENTS_SIGNING is not set", result.Error);
        Assert.Contains($"warning: {file}:26: rules[0].channels[1]: 'shared-ops' is not a channel of these files", result.Error);

        // A folder of files is one document: lists join; a second namespace is an error at its line.
        File.Delete(file);
        Write("a.yaml", Valid);
        Write("b.yml", "namespace: payments\nservers:\n  - id: pay-2\n    name: Payments 2\n    endpoint: http://127.0.0.1:9/mcp2\n");
        result = await CliProcess.RunAsync(null, "validate", _folder);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("2 servers", result.Out);
        Write("c.yaml", "namespace: billing\nservers:\n  - id: pay-1\n    name: Again\n    endpoint: http://127.0.0.1:9/mcp\n");
        result = await CliProcess.RunAsync(null, "validate", _folder);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"{Path.Combine(_folder, "c.yaml")}:1: namespace: is 'billing' here but 'payments'", result.Error);
    }

    [Fact]
    public async Task Diff_apply_export_and_prune_round_trip_against_the_running_product_with_exit_codes()
    {
        await using var product = await EmbeddedApiProcess.StartAsync();
        var server = product.Http.BaseAddress!.ToString().TrimEnd('/');
        (string, string)[] secret = [("PAYMENTS_SIGNING", "first-signing-secret")];
        var file = Write("team.yaml", Valid);

        var diff = await CliProcess.RunAsync(server, secret, "diff", file);
        Assert.True(diff.ExitCode == 2, diff.ToString());
        Assert.Contains("+ create rule/pay-errors", diff.Out);
        Assert.Contains("+ create schedule/payments-primary", diff.Out);
        Assert.Contains("8 to create, 0 to update, 0 to delete, 0 unchanged", diff.Out);

        // Without the secret in the environment, nothing reaches the cluster.
        var missing = await CliProcess.RunAsync(server, "apply", file);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains($"{file}:8: channels[0].config.signingSecret: the environment variable PAYMENTS_SIGNING is not set", missing.Error);
        Assert.Equal(HttpStatusCode.NotFound, (await product.Http.GetAsync("/api/channels/payments-hook")).StatusCode);

        var apply = await CliProcess.RunAsync(server, secret, "apply", file);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains("applied namespace payments: version 0 -> 1", apply.Out);
        var channel = await product.Http.GetFromJsonAsync<JsonElement>("/api/channels/payments-hook");
        Assert.Equal("<redacted>", channel.GetProperty("config").GetProperty("signingSecret").GetString());

        diff = await CliProcess.RunAsync(server, secret, "diff", file);
        Assert.True(diff.ExitCode == 0, diff.ToString());
        Assert.Contains("8 unchanged", diff.Out);

        // The schedule answers who is on call; an override taken in the console is not the file's to undo.
        var shifts = await product.Http.GetFromJsonAsync<JsonElement>("/api/schedules/payments-primary/shifts?from=2026-03-02T08:00:00Z&to=2026-03-02T17:00:00Z");
        Assert.Contains(shifts.GetProperty("shifts").EnumerateArray(), s => s.GetProperty("users").EnumerateArray().Select(u => u.GetString()).SequenceEqual(["ana"]));
        Assert.Equal(HttpStatusCode.Created, (await product.Http.PostJsonAsync("/api/users", """{"id":"ben","name":"Ben","timeZone":"Europe/Berlin"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await product.Http.PostJsonAsync("/api/schedules/payments-primary/overrides",
            """{"user":"ben","start":"2026-03-03T08:00:00Z","end":"2026-03-03T12:00:00Z","replaces":"ana"}""")).StatusCode);
        diff = await CliProcess.RunAsync(server, secret, "diff", file);
        Assert.True(diff.ExitCode == 0, diff.ToString());
        Assert.Contains("8 unchanged", diff.Out);

        // A changed field and a changed secret: both shown, the secret's value never.
        File.WriteAllText(file, Valid.Replace("for: 1m", "for: 3m"));
        diff = await CliProcess.RunAsync(server, [("PAYMENTS_SIGNING", "second-signing-secret")], "diff", "-o", "json", file);
        Assert.True(diff.ExitCode == 2, diff.ToString());
        Assert.DoesNotContain("signing-secret", diff.Out);
        var plan = JsonDocument.Parse(diff.Out).RootElement;
        Assert.Equal(2, plan.GetProperty("summary").GetProperty("update").GetInt32());

        // A pipeline pins the version its reviewed diff showed: once something else applied, it is refused.
        var pinned = await CliProcess.RunAsync(server, secret, "apply", "--expect-version", "0", file);
        Assert.True(pinned.ExitCode == 1, pinned.ToString());
        Assert.Contains("refused, nothing was written", pinned.Error);
        Assert.Equal("1m", (await product.Http.GetFromJsonAsync<JsonElement>("/api/rules/pay-errors")).GetProperty("for").GetString());
        apply = await CliProcess.RunAsync(server, secret, "apply", "--expect-version", "1", file);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Equal("3m", (await product.Http.GetFromJsonAsync<JsonElement>("/api/rules/pay-errors")).GetProperty("for").GetString());

        // Export, then diff the export: no change. The secret is not in it.
        var exported = Path.Combine(_folder, "exported.yaml");
        var export = await CliProcess.RunAsync(server, "export", "--namespace", "payments", "--file", exported);
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.DoesNotContain("signing-secret", File.ReadAllText(exported));
        diff = await CliProcess.RunAsync(server, "diff", exported);
        Assert.True(diff.ExitCode == 0, diff.ToString() + File.ReadAllText(exported));

        // Prune: the document drops its server; a hand-made server is never touched.
        Assert.Equal(HttpStatusCode.Created, (await product.Http.PostJsonAsync("/api/servers", """{"id":"by-hand","name":"By hand","endpoint":"http://127.0.0.1:9/x","probe":{"enabled":false}}""")).StatusCode);
        var withoutServer = Valid.Replace("servers:\n  - id: pay-1\n    name: Payments 1\n    endpoint: http://127.0.0.1:9/mcp\n    labels: {team: payments}\n    probe: {enabled: false}\n", "");
        Assert.NotEqual(Valid, withoutServer);
        File.WriteAllText(file, withoutServer.Replace("for: 1m", "for: 3m"));
        diff = await CliProcess.RunAsync(server, secret, "diff", file);
        Assert.True(diff.ExitCode == 0, diff.ToString()); // without --prune nothing would change: the server is kept
        Assert.Contains("(kept) server/pay-1", diff.Out);
        apply = await CliProcess.RunAsync(server, secret, "apply", "--prune", file);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains("- delete server/pay-1", apply.Out);
        Assert.Equal(HttpStatusCode.NotFound, (await product.Http.GetAsync("/api/servers/pay-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await product.Http.GetAsync("/api/servers/by-hand")).StatusCode);

        // The cluster's own refusals come back at their lines: a reference to a channel it does not have.
        File.WriteAllText(file, Valid.Replace("channels: [payments-hook]\n    subject", "channels: [payments-hook, nowhere]\n    subject"));
        apply = await CliProcess.RunAsync(server, secret, "apply", file);
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains($"{file}:26: rules[0].channels[1]: 'nowhere' is not a channel in this document or in the cluster", apply.Error);
        File.WriteAllText(file, Valid.Replace("users: [ana]", "users: [ana, nobody]"));
        apply = await CliProcess.RunAsync(server, secret, "apply", file);
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains($"{file}:50: schedules[0].layers[0].users[1]: 'nobody' is not a user in this document or in the cluster", apply.Error);

        // No cluster at all: a clear error and exit 1.
        var away = await CliProcess.RunAsync("http://127.0.0.1:9", secret, "diff", file);
        Assert.True(away.ExitCode == 1, away.ToString());
        Assert.Contains("cannot reach http://127.0.0.1:9", away.Error);
    }

    private const string Routing = """
        namespace: platform
        channels:
          - {id: pager, type: webhook, config: {url: "http://127.0.0.1:9/pager"}}
          - {id: chat, type: webhook, config: {url: "http://127.0.0.1:9/chat"}}
        routing:
          route:
            receiver: chat
            groupBy: [alertname]
            routes:
              - matchers: ["severity=critical"]
                receiver: pager
                continue: true
              - matchers: ['team=~"pay.*"']
                receiver: chat
          receivers:
            - {name: pager, channels: [pager]}
            - {name: chat, channels: [chat]}
        """;

    [Fact]
    public async Task Routes_test_checks_a_table_of_label_sets_offline_and_against_the_cluster()
    {
        var document = Write("routing.yaml", Routing);
        var cases = Write("cases.yaml", """
            - labels: {severity: critical, team: payments}
              receivers: [pager, chat]
            - name: warnings go to chat
              labels: {severity: warning}
              receivers: [pager]
            """);
        var offline = await CliProcess.RunAsync(null, "routes", "test", "--config", document, "--file", cases);
        Assert.True(offline.ExitCode == 1, offline.ToString());
        Assert.Contains("ok    severity=critical team=payments: pager,chat", offline.Out);
        Assert.Contains($"FAIL  {cases}:3: warnings go to chat: reached chat, expected pager", offline.Out);
        Assert.Contains("1 passed, 1 failed", offline.Out);

        var one = await CliProcess.RunAsync(null, "routes", "test", "--config", document, "--expect", "pager", "severity=critical");
        Assert.True(one.ExitCode == 0, one.ToString());

        await using var product = await EmbeddedApiProcess.StartAsync();
        var server = product.Http.BaseAddress!.ToString().TrimEnd('/');
        Assert.Equal(0, (await CliProcess.RunAsync(server, "apply", document)).ExitCode);
        var live = await CliProcess.RunAsync(server, "routes", "test", "severity=critical", "team=payroll");
        Assert.True(live.ExitCode == 0, live.ToString());
        Assert.Equal("pager,chat", live.Out.Trim());
    }

    [Fact]
    public async Task The_day_to_day_verbs_work_against_the_running_product_and_fail_with_exit_1_and_the_reason()
    {
        await using var product = await EmbeddedApiProcess.StartAsync();
        var server = product.Http.BaseAddress!.ToString().TrimEnd('/');
        var file = Write("team.yaml", Valid);
        Assert.Equal(0, (await CliProcess.RunAsync(server, [("PAYMENTS_SIGNING", "x")], "apply", file)).ExitCode);

        var status = await CliProcess.RunAsync(server, "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches(@"servers: \d+ healthy, \d+ degraded, \d+ unhealthy, 1 unknown", status.Out);
        Assert.Contains("silences: 0 active", status.Out);

        var list = await CliProcess.RunAsync(server, "servers", "list", "--label", "team=payments");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("pay-1", list.Out);
        var json = await CliProcess.RunAsync(server, "-o", "json", "servers", "list");
        Assert.Equal("pay-1", JsonDocument.Parse(json.Out).RootElement[0].GetProperty("id").GetString());

        var add = await CliProcess.RunAsync(server, "silence", "add", "alertname=Server down", "severity=~\"warn.*\"", "--duration", "2h", "--comment", "maintenance", "--author", "ops");
        Assert.True(add.ExitCode == 0, add.ToString());
        var silenceId = System.Text.RegularExpressions.Regex.Match(add.Out, "id: ([0-9a-f]+)").Groups[1].Value;
        var query = await CliProcess.RunAsync(server, "silence", "query");
        Assert.Contains("alertname=\"Server down\",severity=~\"warn.*\"", query.Out);
        Assert.Contains("maintenance", query.Out);
        Assert.Equal(0, (await CliProcess.RunAsync(server, "silence", "expire", silenceId)).ExitCode);
        Assert.DoesNotContain(silenceId, (await CliProcess.RunAsync(server, "silence", "query")).Out);

        var bad = await CliProcess.RunAsync(server, "silence", "add", "severity", "--comment", "x");
        Assert.True(bad.ExitCode == 1, bad.ToString());
        Assert.Contains("matchers[0]: an operator (=, !=, =~ or !~) is expected", bad.Error);

        var incidents = await CliProcess.RunAsync(server, "incidents", "list");
        Assert.True(incidents.ExitCode == 0, incidents.ToString());
        Assert.StartsWith("ID", incidents.Out);
        var missing = await CliProcess.RunAsync(server, "incidents", "ack", "inc-nope", "--by", "ops");
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("no incident with id 'inc-nope'", missing.Error);
        var unknown = await CliProcess.RunAsync(server, "servers", "check", "nope");
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
    }

    [Fact]
    public async Task The_three_team_example_validates_applies_in_order_and_then_diffs_clean()
    {
        // A copy, with the file secret the assistants' channel names beside it.
        foreach (var example in Directory.GetFiles(Repository.PathTo("examples", "config"), "*.yaml")) File.Copy(example, Path.Combine(_folder, Path.GetFileName(example)));
        Directory.CreateDirectory(Path.Combine(_folder, "secrets"));
        File.WriteAllText(Path.Combine(_folder, "secrets", "smtp-password"), "smtp-password-value\n");
        (string, string)[] secrets =
        [
            ("PLATFORM_PAGER_SIGNING_SECRET", "pager-signing"), ("PLATFORM_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x"),
            ("PAYMENTS_BOT_TOKEN", "Bearer bot-token"),
        ];
        string[] order = ["platform.yaml", "payments.yaml", "search.yaml", "assistants.yaml"];
        foreach (var file in order)
        {
            var validate = await CliProcess.RunAsync(null, "validate", Path.Combine(_folder, file));
            Assert.True(validate.ExitCode == 0, validate.ToString());
        }
        await using var product = await EmbeddedApiProcess.StartAsync();
        var server = product.Http.BaseAddress!.ToString().TrimEnd('/');
        foreach (var file in order)
        {
            var apply = await CliProcess.RunAsync(server, secrets, "apply", "--prune", Path.Combine(_folder, file));
            Assert.True(apply.ExitCode == 0, apply.ToString());
        }
        foreach (var file in order)
        {
            var diff = await CliProcess.RunAsync(server, secrets, "diff", "--prune", Path.Combine(_folder, file));
            Assert.True(diff.ExitCode == 0, diff.ToString());
        }
        var namespaces = await product.Http.GetFromJsonAsync<JsonElement>("/api/config/namespaces");
        Assert.Equal(["assistants", "payments", "platform", "search"], namespaces.GetProperty("items").EnumerateArray().Select(n => n.GetProperty("name").GetString()));
        var routes = await CliProcess.RunAsync(server, "routes", "test", "team=payments", "severity=warning");
        Assert.Equal("payments-chat", routes.Out.Trim());
        // The payments file's rotation, on Tuesday 2026-03-03 in Amira's week: the lead in office hours, Amira after.
        var onCall = await product.Http.GetFromJsonAsync<JsonElement>("/api/schedules/payments-primary/oncall?at=2026-03-03T09:00:00Z");
        Assert.Equal(["payments-lead"], onCall.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        onCall = await product.Http.GetFromJsonAsync<JsonElement>("/api/schedules/payments-primary/oncall?at=2026-03-03T19:00:00Z");
        Assert.Equal(["payments-amira"], onCall.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
    }
}
