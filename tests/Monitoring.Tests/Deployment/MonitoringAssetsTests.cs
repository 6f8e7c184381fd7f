using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Deployment;

/// <summary>k8s/monitoring: the Grafana dashboard and the alerting rules query metrics the product really exports.</summary>
[Collection(ApiCollection.Name)]
public sealed partial class MonitoringAssetsTests(ApiFixture api)
{
    private static string Asset(string name) => Repository.PathTo("k8s", "monitoring", name);

    [GeneratedRegex(@"\b((?:mcp_alerting|http)_[a-z0-9_]+)")]
    private static partial Regex MetricName();

    private async Task<HashSet<string>> ExportedFamiliesAsync()
    {
        var metrics = await api.Http.GetStringAsync("/metrics");
        return [.. metrics.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2])];
    }

    private static string Family(string name) => Regex.Replace(name, "_(bucket|sum|count)$", "");

    [Fact]
    public async Task Every_dashboard_query_names_metrics_the_product_exports()
    {
        var exported = await ExportedFamiliesAsync();
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Asset("grafana-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        Assert.True(expressions.Count >= 10);
        foreach (var expression in expressions)
        {
            var names = MetricName().Matches(expression).Select(m => Family(m.Groups[1].Value)).ToList();
            Assert.NotEmpty(names);
            Assert.All(names, name => Assert.Contains(name, exported));
        }
    }

    [Fact]
    public async Task The_alerting_rules_pass_promtool_and_name_exported_metrics()
    {
        var path = Asset("alerts.rules.yml");
        var start = new ProcessStartInfo(LocalProcesses.Find("promtool", "/usr/bin/promtool"), $"check rules {path}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("SUCCESS: 8 rules found", output);

        var exported = await ExportedFamiliesAsync();
        var rules = await File.ReadAllTextAsync(path);
        var names = MetricName().Matches(rules).Select(m => Family(m.Groups[1].Value)).Distinct().ToList();
        Assert.True(names.Count >= 5);
        Assert.All(names, name => Assert.Contains(name, exported));
    }
}
