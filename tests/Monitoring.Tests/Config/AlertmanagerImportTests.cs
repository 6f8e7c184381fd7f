using System.Diagnostics;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Config;

/// <summary>
/// `import alertmanager` on real Alertmanager configurations: the examples Debian's prometheus-alertmanager ships, and
/// one written from Alertmanager's documentation with every kind of setting. The imported document passes validate,
/// routes every label set to the same receivers as amtool 0.25 does on the original, and names what it left out.
/// </summary>
public sealed class AlertmanagerImportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("am-import-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Examples = "/usr/share/doc/prometheus-alertmanager/examples";

    /// <summary>Written from Alertmanager's configuration documentation: both matcher syntaxes, time intervals, three receiver kinds, and some it has no peer for.</summary>
    private const string Full = """
        global:
          resolve_timeout: 5m
          smtp_smarthost: 'smtp.example.org:587'
          smtp_from: 'alerts@example.org'
          slack_api_url: 'https://hooks.slack.com/services/T000/B000/XXXX'
        route:
          receiver: default
          group_by: ['alertname', 'cluster']
          group_wait: 10s
          routes:
            - match:
                team: payments
              receiver: payments
              routes:
                - match_re:
                    severity: critical|page
                  receiver: payments-pager
                  mute_time_intervals: [maintenance]
            - matchers: ['service=~"api|web"', 'env!="dev"']
              receiver: web
              active_time_intervals: [office]
              continue: true
            - matchers: ['{cluster="eu-1"}']
              receiver: eu-ops
        receivers:
          - name: default
            webhook_configs:
              - url: 'http://127.0.0.1:5001/default'
                max_alerts: 20
          - name: payments
            slack_configs:
              - channel: '#payments'
                title: '{{ .CommonLabels.alertname }}'
          - name: payments-pager
            email_configs:
              - to: 'pay-oncall@example.org, pay-lead@example.org'
                send_resolved: true
                auth_username: pager
                auth_password: hunter2
            opsgenie_configs:
              - api_key: secret
          - name: web
            webhook_configs:
              - url: 'http://127.0.0.1:5001/web'
                http_config:
                  bearer_token: abc
          - name: eu-ops
            webhook_configs:
              - url: 'http://127.0.0.1:5001/eu'
        inhibit_rules:
          - source_matchers: ['severity="critical"']
            target_matchers: ['severity="warning"']
            equal: [alertname]
          - source_match_re:
              alertname: 'Node.*Down'
            target_match:
              severity: info
        time_intervals:
          - name: office
            time_intervals:
              - weekdays: ['monday:friday']
                times:
                  - start_time: '09:00'
                    end_time: '17:00'
                location: Europe/Berlin
        mute_time_intervals:
          - name: maintenance
            time_intervals:
              - days_of_month: ['1']
                months: ['january:march']
        templates: ['/etc/alertmanager/*.tmpl']
        """;

    public static TheoryData<string, string[]> LabelSets => new()
    {
        { "simple", ["service=foo1", "severity=critical"] },
        { "simple", ["service=foo2"] },
        { "simple", ["service=files", "severity=critical"] },
        { "simple", ["service=database", "owner=team-X"] },
        { "simple", ["service=database", "owner=team-Y"] },
        { "simple", ["service=database"] },
        { "simple", ["service=other"] },
        { "ha", ["alertname=x"] },
        { "full", ["team=payments"] },
        { "full", ["team=payments", "severity=page"] },
        { "full", ["team=payments", "severity=pager"] },
        { "full", ["service=api", "env=prod"] },
        { "full", ["service=api", "env=prod", "cluster=eu-1"] },
        { "full", ["service=web", "env=dev", "cluster=eu-1"] },
        { "full", ["service=apis"] },
        { "full", ["nothing=matches"] },
    };

    private string Original(string name) => name switch
    {
        "simple" => $"{Examples}/simple.yml",
        "ha" => $"{Examples}/ha/alertmanager.yml",
        _ => Write("full.yml", Full),
    };

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [MemberData(nameof(LabelSets))]
    public async Task The_imported_tree_routes_every_label_set_as_amtool_does_on_the_original(string config, string[] labels)
    {
        var original = Original(config);
        var imported = Path.Combine(_folder, "imported.yaml");
        var import = await CliProcess.RunAsync(null, "import", "alertmanager", original, "--file", imported);
        Assert.True(import.ExitCode == 0, import.ToString());

        var ours = await CliProcess.RunAsync(null, ["routes", "test", "--config", imported, .. labels]);
        Assert.True(ours.ExitCode == 0, ours.ToString());
        var theirs = await AmtoolAsync(["config", "routes", "test", $"--config.file={original}", .. labels]);
        Assert.Equal(theirs.Trim(), ours.Out.Trim());
    }

    [Fact]
    public async Task The_import_passes_validate_keeps_secrets_out_and_names_everything_it_left_out()
    {
        var imported = Path.Combine(_folder, "imported.yaml");
        var import = await CliProcess.RunAsync(null, "import", "alertmanager", Original("full"), "--namespace", "from-am", "--file", imported);
        Assert.True(import.ExitCode == 0, import.ToString());
        var text = File.ReadAllText(imported);
        Assert.DoesNotContain("hunter2", text);
        Assert.DoesNotContain("hooks.slack.com", text);
        Assert.Contains("namespace: from-am", text);
        Assert.Contains("secret to set where the file is applied: PAYMENTS_PAGER_EMAIL_PASSWORD: the SMTP password of receivers[payments-pager].email_configs[0] (its auth_password)", import.Error);
        Assert.Contains("secret to set where the file is applied: SLACK_API_URL: Alertmanager's global.slack_api_url", import.Error);
        foreach (var left in new[]
        {
            "global.resolve_timeout", "templates: Go templates", "receivers[payments].slack_configs[0].title", "receivers[payments-pager].opsgenie_configs[0]: opsgenie is not a channel type",
            "receivers[web].webhook_configs[0].http_config: not carried over (HTTP client settings)",
        })
        {
            Assert.Contains($"not carried over: {left}", import.Error);
        }
        Assert.Contains("imported: 5 channels, 5 receivers, 2 inhibitions, 2 time intervals", import.Error);

        // The document checks as validate checks it: the two matcher syntaxes, the intervals and the receivers all read.
        var validate = await CliProcess.RunAsync(null, "validate", imported);
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.Contains("valid: namespace from-am: 0 servers, 0 rules, 5 channels, 0 users, 0 schedules, 0 escalation policies, 2 time intervals, 2 inhibitions, 0 heartbeats, 0 discovery sources, 0 SLOs, the routing tree", validate.Out);
        Assert.Contains("to:\n    - pay-oncall@example.org\n    - pay-lead@example.org", text);
        Assert.Contains("maxAlerts: 20", text);
    }

    [Fact]
    public async Task A_file_that_is_not_an_Alertmanager_configuration_is_refused_with_its_line()
    {
        var broken = Write("broken.yml", "route:\n  receiver: [unclosed\n");
        var result = await CliProcess.RunAsync(null, "import", "alertmanager", broken);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"{broken}:", result.Error);
        Assert.Contains("is not valid YAML", result.Error);
    }

    private static async Task<string> AmtoolAsync(string[] args)
    {
        var start = new ProcessStartInfo(LocalProcesses.Find("amtool", "/usr/bin/amtool")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"amtool {string.Join(' ', args)}: {await error}");
        return await output;
    }
}
