using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Channels.Templates;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>The parts of delivery that need no cluster: token buckets, the cluster share, and Liquid templates.</summary>
public sealed class DeliveryPartsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_token_bucket_allows_its_burst_then_one_token_per_interval()
    {
        var bucket = new TokenBucket(perSecond: 0.5, burst: 3);
        Assert.True(bucket.TryTake(T0));
        Assert.True(bucket.TryTake(T0));
        Assert.True(bucket.TryTake(T0));
        Assert.False(bucket.TryTake(T0));
        Assert.InRange(bucket.WaitFor(T0), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.01));
        Assert.False(bucket.TryTake(T0.AddSeconds(1.9)));
        Assert.True(bucket.TryTake(T0.AddSeconds(2)));
        // A long quiet spell refills only up to the burst.
        var later = T0.AddHours(1);
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => bucket.TryTake(later)));
    }

    [Fact]
    public void A_token_given_back_lets_the_next_message_go_and_never_grows_the_burst()
    {
        var time = new FakeTimeProvider(T0);
        var cluster = new ClusterDeliveryLimiter(Options.Create(new NotificationOptions { ClusterRatePerSecond = 2, ClusterBurstSeconds = 1 }), time,
            Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(new Microsoft.Extensions.DependencyInjection.ServiceCollection()))
        {
            ActiveSilos = () => 1,
        };
        var gate = new RateGate(new TokenBucket(perSecond: 1, burst: 1), cluster);

        // A message that passed but did not go (another live activation holds its row) gives its token back to both limits.
        Assert.True(gate.TryPass(T0, out _, out _));
        Assert.False(gate.TryPass(T0, out _, out var limit));
        Assert.Equal("channel", limit);
        gate.Refund();
        Assert.True(gate.TryPass(T0, out _, out _));
        Assert.False(gate.TryPass(T0, out _, out _));

        // The same for the cluster's share when it is the limit that holds.
        var clusterOnly = new RateGate(new TokenBucket(perSecond: 100, burst: 100), cluster);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, Enumerable.Range(0, 5).Count(i => clusterOnly.TryPass(time.GetUtcNow(), out _, out _)));
        Assert.False(clusterOnly.TryPass(time.GetUtcNow(), out _, out limit));
        Assert.Equal("cluster", limit);
        clusterOnly.Refund();
        Assert.True(clusterOnly.TryPass(time.GetUtcNow(), out _, out _));

        // Given back to a full bucket, a token is not kept: the burst stays the burst.
        var bucket = new TokenBucket(perSecond: 1, burst: 2);
        bucket.Give();
        Assert.Equal(2, Enumerable.Range(0, 5).Count(_ => bucket.TryTake(T0)));
    }

    [Fact]
    public void The_cluster_cap_is_shared_equally_by_the_active_silos()
    {
        var time = new FakeTimeProvider(T0);
        var options = Options.Create(new NotificationOptions { ClusterRatePerSecond = 10, ClusterBurstSeconds = 1 });
        var silos = 2;
        var limiter = new ClusterDeliveryLimiter(options, time, Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(new Microsoft.Extensions.DependencyInjection.ServiceCollection()))
        {
            ActiveSilos = () => silos,
        };

        // Two silos: this one may send 5 a second.
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(out TimeSpan _)));
        Assert.False(limiter.TryAcquire(out var wait));
        Assert.InRange(wait, TimeSpan.FromMilliseconds(199), TimeSpan.FromMilliseconds(202));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(out TimeSpan _)));

        // The other silo died: this one takes the whole cap.
        silos = 1;
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire(out TimeSpan _)));

        options.Value.ClusterRatePerSecond = 0; // no cap
        Assert.True(Enumerable.Range(0, 1000).All(_ => limiter.TryAcquire(out TimeSpan _)));
    }

    private static Notification Sample(MessageTemplates? rule = null, NotificationKind kind = NotificationKind.Firing) =>
        new("r1:s1", "r1", "High <error> rate", "s1", "Search", Severity.Warning, kind, kind == NotificationKind.Resolved ? "resolved" : "firing",
            "Error rate exceeded 5%", 2, T0, T0.AddMinutes(1), new() { ["error_rate"] = 0.123456, ["p95_response_time"] = 1.5 },
            new() { ["env"] = "prod" }, "error_rate > 0.05", 7)
        { Templates = rule ?? MessageTemplates.None };

    [Fact]
    public async Task Default_templates_give_the_severity_subject_and_the_context()
    {
        var renderer = new MessageRenderer(NullLogger<MessageRenderer>.Instance, Microsoft.Extensions.Options.Options.Create(new Monitoring.Settings.NotificationOptions()));
        var message = await renderer.RenderAsync(Sample(), MessageTemplates.None);
        Assert.Equal("[WARNING] High <error> rate on Search", message.Subject);
        Assert.Equal(
            """
            Error rate exceeded 5%

            Alert: r1:s1 (firing)
            Rule: High <error> rate (error_rate > 0.05)
            Server: Search (s1)
            Severity: warning
            Fired at: 2026-11-23 12:00:00 UTC
            error_rate = 0.1235
            p95_response_time = 1.5
            """.ReplaceLineEndings("\n"), message.Body.ReplaceLineEndings("\n"));
        Assert.Contains("High &lt;error&gt; rate", message.HtmlBody);
        Assert.Equal("[WARNING] RESOLVED: High <error> rate on Search", (await renderer.RenderAsync(Sample(kind: NotificationKind.Resolved), MessageTemplates.None)).Subject);
    }

    /// <summary>
    /// Signing is deterministic: a message's links are the same bytes on every attempt and from every silo (two
    /// issuers over copies of one key set), they verify with the cluster's key, and the acknowledge and resolve links
    /// share the message's nonce. Resolved messages carry none.
    /// </summary>
    [Fact]
    public async Task A_messages_action_links_are_the_same_bytes_on_every_retry_and_every_silo()
    {
        var protection = new EphemeralDataProtectionProvider().CreateProtector(Monitoring.Security.ActionLinkKeys.SealPurpose);
        var (keyId, secret) = Monitoring.Security.ActionLinkKeys.New();
        var set = new Monitoring.Security.ActionLinkKeySet(1, [new(keyId, Convert.ToBase64String(protection.Protect(secret)), T0.AddDays(-1))]);
        var options = Options.Create(new NotificationOptions { ExternalUrl = "https://alerts.example" });
        MessageRenderer Silo() => new(NullLogger<MessageRenderer>.Instance, options,
            new ActionLinkIssuer(new Monitoring.Security.ActionLinkKeyRing(_ => Task.FromResult<Monitoring.Security.ActionLinkKeySet?>(set), protection.Unprotect, new FakeTimeProvider(T0)), options,
                NullLogger<ActionLinkIssuer>.Instance));
        var (one, other) = (Silo(), Silo());
        var notification = Sample();

        var first = (await one.RenderAsync(notification, MessageTemplates.None)).Actions!;
        var retry = (await one.RenderAsync(notification, MessageTemplates.None)).Actions!;
        var elsewhere = (await other.RenderAsync(notification, MessageTemplates.None)).Actions!;
        Assert.Equal(first, retry);
        Assert.Equal(first, elsewhere);
        Assert.NotEqual(first.Acknowledge, first.Resolve);
        Assert.Null((await one.RenderAsync(Sample(kind: NotificationKind.Resolved), MessageTemplates.None)).Actions);

        (string Action, string Nonce) Read(string url)
        {
            var token = url[(options.Value.ExternalUrl + Monitoring.Security.ActionLink.Path).Length..];
            Assert.Equal(keyId, Monitoring.Security.ActionLink.KeyIdOf(token));
            Assert.True(Monitoring.Security.ActionLink.TryParse(Monitoring.Security.ActionLink.Verify(token, secret)!, out var target, out var action, out var expires, out var nonce, out _));
            Assert.Equal((notification.AlertId, T0.AddMinutes(1) + options.Value.ActionLinkLifetime), (target, expires));
            return (action, nonce);
        }
        var (ack, resolve) = (Read(first.Acknowledge), Read(first.Resolve));
        Assert.Equal((Monitoring.Security.ActionLink.Acknowledge, Monitoring.Security.ActionLink.Resolve), (ack.Action, resolve.Action));
        Assert.Equal(ack.Nonce, resolve.Nonce);
    }

    /// <summary>
    /// A page matters more than its links: when the signing keys cannot be read (their grain's storage down) or this
    /// silo's key ring opens none of them (a key ring restored apart from the state), the message goes without links.
    /// </summary>
    [Fact]
    public async Task A_message_goes_without_action_links_when_no_signing_key_can_be_read_or_opened()
    {
        var options = Options.Create(new NotificationOptions { ExternalUrl = "https://alerts.example" });
        var elsewhere = new EphemeralDataProtectionProvider().CreateProtector(Monitoring.Security.ActionLinkKeys.SealPurpose);
        var foreign = new Monitoring.Security.ActionLinkKeySet(1, [new("00aa", Convert.ToBase64String(elsewhere.Protect(new byte[32])), T0.AddDays(-1))]);
        var ours = new EphemeralDataProtectionProvider().CreateProtector(Monitoring.Security.ActionLinkKeys.SealPurpose);
        foreach (Func<long, Task<Monitoring.Security.ActionLinkKeySet?>> owner in new Func<long, Task<Monitoring.Security.ActionLinkKeySet?>>[]
        {
            _ => Task.FromException<Monitoring.Security.ActionLinkKeySet?>(new TimeoutException("storage down")),
            _ => Task.FromResult<Monitoring.Security.ActionLinkKeySet?>(foreign),
        })
        {
            var renderer = new MessageRenderer(NullLogger<MessageRenderer>.Instance, options,
                new ActionLinkIssuer(new Monitoring.Security.ActionLinkKeyRing(owner, ours.Unprotect, new FakeTimeProvider(T0)), options, NullLogger<ActionLinkIssuer>.Instance));
            var message = await renderer.RenderAsync(Sample(), MessageTemplates.None);
            Assert.Null(message.Actions);
            Assert.StartsWith("[WARNING] High <error> rate", message.Subject);
        }
    }

    [Fact]
    public async Task The_rules_template_wins_over_the_channels_and_the_channels_over_the_default()
    {
        var renderer = new MessageRenderer(NullLogger<MessageRenderer>.Instance, Microsoft.Extensions.Options.Options.Create(new Monitoring.Settings.NotificationOptions()));
        var channel = new MessageTemplates("{{ labels.env | upcase }}: {{ rule_name }}", "channel body");
        var rule = new MessageTemplates("{{ severity }}/{{ values.error_rate | times: 100 | round: 1 }}%", null);

        Assert.Equal("PROD: High <error> rate", (await renderer.RenderAsync(Sample(), channel)).Subject);
        var both = await renderer.RenderAsync(Sample(rule), channel);
        Assert.Equal("warning/12.3%", both.Subject);
        Assert.Equal("channel body", both.Body);
    }

    /// <summary>
    /// The subject and the body read one model made per message, each in a context of its own: a variable the subject
    /// assigns never reaches the body, and a field's name is read whatever its case, as Liquid's own variables are.
    /// </summary>
    [Fact]
    public async Task Each_template_has_its_own_variables_over_one_model()
    {
        var renderer = new MessageRenderer(NullLogger<MessageRenderer>.Instance, Microsoft.Extensions.Options.Options.Create(new Monitoring.Settings.NotificationOptions()));
        var templates = new MessageTemplates("{% assign rule_name = 'mine' %}{{ rule_name }} {{ Server_Name }}", "{{ rule_name }}/{{ SEVERITY }}/{{ labels.env }}");

        var message = await renderer.RenderAsync(Sample(templates), MessageTemplates.None);

        Assert.Equal("mine Search", message.Subject);
        Assert.Equal("High <error> rate/warning/prod", message.Body);
    }

    [Theory]
    [InlineData("{{ x | ")]
    [InlineData("{% if %}")]
    [InlineData("{% for a in b %}no end")]
    [InlineData("{% for i in (1..100000000) %}x{% endfor %}")]
    [InlineData("{% for i in (1..values.memory_usage_bytes) %}x{% endfor %}")]
    public void Bad_templates_are_found_before_they_are_stored(string template) =>
        Assert.StartsWith("is ", MessageRenderer.Check(template)?.Replace("has the range", "is a range"));

    [Fact]
    public async Task A_template_that_runs_too_long_falls_back_to_the_default()
    {
        var renderer = new MessageRenderer(NullLogger<MessageRenderer>.Instance, Microsoft.Extensions.Options.Options.Create(new Monitoring.Settings.NotificationOptions()));
        var runaway = new MessageTemplates(null, "{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}");
        Assert.Null(MessageRenderer.Check(runaway.Body));
        var message = await renderer.RenderAsync(Sample(runaway), MessageTemplates.None);
        Assert.StartsWith("Error rate exceeded 5%", message.Body);
    }
}

[Collection(ApiCollection.Name)]
public sealed class RuleTemplateTests(ApiFixture api)
{
    [Fact]
    public async Task A_rules_templates_shape_its_messages_and_bad_ones_are_refused()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"c-{s.Id}", "hook", ""","subjectTemplate":"channel subject" """);
        await s.ServerAndRuleAsync($$$""" "channels":["c-{{{s.Id}}}"],"subjectTemplate":"{{ server_name }} is failing ({{ values.error_rate | times: 100 }}%)","bodyTemplate":"env={{ labels.env }}" """);

        await s.FireAsync();
        var context = (await s.WaitForHooksAsync("hook", 1)).Single().Body.GetProperty("context");
        Assert.Equal("Search is failing (100%)", context.GetProperty("subject").GetString());
        Assert.Equal("env=prod", context.GetProperty("body").GetString());
        var rule = await (await s.Http.GetAsync($"/api/rules/{s.RuleId}")).JsonAsync();
        Assert.Equal("env={{ labels.env }}", rule.GetProperty("bodyTemplate").GetString());

        var bad = await s.Http.PostJsonAsync("/api/rules", """{"id":"r-bad-template","name":"R","condition":"error_rate > 0.5","channels":[],"subjectTemplate":"{{ oops "}""");
        Assert.Contains("subjectTemplate: is not a valid Liquid template", await bad.AssertProblemAsync(400));
        await (await s.Http.GetAsync("/api/rules/r-bad-template")).AssertProblemAsync(404);
    }
}
