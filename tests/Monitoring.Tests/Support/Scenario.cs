using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Rules;
using Monitoring.Servers;

namespace Monitoring.Tests.Support;

/// <summary>One test's world in the shared cluster: fresh ids for server, rule and channels, and its own webhook paths.</summary>
public sealed class Scenario(ClusterFixture fixture)
{
    public string Id { get; } = Guid.NewGuid().ToString("N")[..10];
    public string ServerId => $"srv-{Id}";
    public string RuleId => $"rule-{Id}";
    public string AlertId => AlertIds.For(RuleId, ServerId);
    public string HookPath => $"/hooks/{Id}";
    public string EscalationPath => $"/hooks/{Id}-escalation";
    public string ChannelId => $"ops-{Id}";
    public string EscalationChannelId => $"esc-{Id}";

    public IAlertGrain Alert => fixture.Grains.GetGrain<IAlertGrain>(AlertId);
    public IMcpServerGrain Server => fixture.Grains.GetGrain<IMcpServerGrain>(ServerId);

    public async Task<Scenario> SetUpAsync(Func<AlertRule, AlertRule>? customise = null, Dictionary<string, string>? labels = null)
    {
        await CreateChannelAsync(ChannelId, HookPath);
        await CreateChannelAsync(EscalationChannelId, EscalationPath);
        var now = fixture.Time.GetUtcNow();
        Assert.True((await ServerShards.RegisterAsync(fixture.Grains, new McpServer(ServerId, "Search", "http://127.0.0.1:3001/mcp", labels ?? new() { ["env"] = "prod" }, true, now, now))).Succeeded);
        var rule = customise?.Invoke(Rule()) ?? Rule();
        var result = await fixture.Grains.GetGrain<IAlertRuleGrain>(RuleId).CreateAsync(rule);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors.Select(e => e.Message)));
        return this;
    }

    /// <summary>A rule that fires at once on an error rate over 5% on this test's server, with no escalation.</summary>
    public AlertRule Rule() => new(
        RuleId, "High error rate", "error_rate > 0.05", TimeSpan.Zero, Severity.Critical, [ChannelId], "Error rate exceeded 5%",
        TimeSpan.FromMinutes(30), null, [], true, true, new() { ["scenario"] = Id }, fixture.Time.GetUtcNow());

    public Dictionary<string, string> Labels => new() { ["env"] = "prod", ["scenario"] = Id };

    public Task CreateChannelAsync(string id, string path) =>
        fixture.Grains.GetGrain<INotificationChannelGrain>(id).CreateAsync(
            new NotificationChannel(id, "webhook", true, $$"""{"url":"{{fixture.Webhooks.UrlFor(path)}}"}""", default, default));

    public Task<IngestResult> PushAsync(int failures, int successes)
    {
        var records = Enumerable.Range(0, failures + successes)
            .Select(i => new RequestRecord("tools/call", "search", 120, i >= failures, null))
            .ToArray();
        return Server.IngestAsync(new TelemetryBatch(records, null));
    }

    public async Task<AlertStatus> StatusAsync() => (await Alert.GetAsync())?.Status ?? AlertStatus.Inactive;

    public Task WaitForStatusAsync(AlertStatus status) =>
        Eventually.TrueAsync(async () => await StatusAsync() == status, $"alert {AlertId} to become {status}");

    public IReadOnlyList<ReceivedHook> Hooks => fixture.Webhooks.At(HookPath);

    public IReadOnlyList<ReceivedHook> EscalationHooks => fixture.Webhooks.At(EscalationPath);

    public Task<IReadOnlyList<ReceivedHook>> WaitForHooksAsync(int count) => fixture.Webhooks.WaitForAsync(HookPath, count);
}
