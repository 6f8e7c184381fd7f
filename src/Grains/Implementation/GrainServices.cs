using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Channels.Email;
using Monitoring.Channels.Slack;
using Monitoring.Channels.Templates;
using Monitoring.Channels.Webhook;
using Monitoring.Silences;
using Monitoring.Probing;
using Orleans.Hosting;

using Monitoring.Settings;

namespace Monitoring;

public static class GrainServices
{
    /// <summary>Everything the grains need from the container, whichever way the silo is hosted.</summary>
    public static IServiceCollection AddMonitoringGrains(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>()
            .BindConfiguration(MonitoringOptions.Section)
            .Validate(o => o.MetricWindow >= TimeSpan.FromSeconds(20), "Monitoring:MetricWindow must be at least 20s")
            .Validate(o => o.EvaluationInterval >= TimeSpan.FromSeconds(1), "Monitoring:EvaluationInterval must be at least 1s")
            .Validate(o => o.MaxTelemetryBatch is > 0 and <= 1_000_000, "Monitoring:MaxTelemetryBatch must be 1..1000000")
            .Validate(o => o.ReminderPeriod >= TimeSpan.FromSeconds(1), "Monitoring:ReminderPeriod must be at least 1s")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(StateDurability.Durable);
        services.AddSingleton<SiloStopping>();
        services.AddSingleton<Routing.IncidentWakeups>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloStopping>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, Recovery.ReminderRearm>();
        services.AddOptions<NotificationOptions>()
            .BindConfiguration(NotificationOptions.Section)
            .Validate(o => o.ClusterRatePerSecond >= 0, "Notifications:ClusterRatePerSecond must be 0 (no cap) or more")
            .Validate(o => o.ClusterBurstSeconds > 0, "Notifications:ClusterBurstSeconds must be more than 0")
            .Validate(o => Uri.TryCreate(o.ExternalUrl, UriKind.Absolute, out _), "Notifications:ExternalUrl must be an absolute URL")
            .Validate(o => o.DeliveryLogSize is >= 10 and <= 10_000, "Notifications:DeliveryLogSize must be 10..10000")
            .Validate(o => o.DedupRetention >= TimeSpan.FromMinutes(10), "Notifications:DedupRetention must be at least 10 minutes")
            .ValidateOnStart();
        foreach (var name in new[] { WebhookSender.HttpClientName, SlackSender.HttpClientName })
        {
            // Receivers may redirect (up to Outbound:MaxRedirects); every hop passes the outbound guard.
            services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<Outbound.OutboundGuard>().Handler(followRedirects: true));
        }
        services.AddSingleton<IChannelSender, WebhookSender>();
        services.AddSingleton<IChannelSender, SlackSender>();
        services.AddSingleton<IChannelSender, EmailSender>();
        services.TryAddSingleton(sp => Security.ActionLinkKeyRing.Of(sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IDataProtectionProvider>().CreateProtector(Security.ActionLinkKeys.SealPurpose).Unprotect, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Channels.Templates.ActionLinkIssuer>();
        services.AddSingleton<MessageRenderer>();
        services.AddSingleton<ClusterDeliveryLimiter>();
        services.AddSingleton<ChannelStages>();
        services.AddSingleton<ChannelRoutes>();
        services.TryAddSingleton<IOutboxStore, InMemoryOutboxStore>();
        services.TryAddSingleton<External.IExternalAlertStore, External.InMemoryExternalAlertStore>();
        services.AddSingleton<SilenceCache>();
        services.AddSingleton<Muting.Mutes>();
        services.AddGrainService<SilenceReplica>();
        services.AddSingleton<SilenceReplicas>();
        services.AddSingleton<Routing.RoutingCache>();
        Observability.MonitoringMetrics.Prime();
        services.AddSingleton<Rules.RuleCache>();
        services.AddSingleton<Rules.LocalServers>();
        services.AddHostedService<Rules.RuleWatcher>();
        services.TryAddSingleton<History.IAlertHistory, History.InMemoryAlertHistory>();
        services.AddDataProtection().SetApplicationName("mcp-alerting");
        services.AddSingleton<Security.SecretSealer>();
        services.TryAddSingleton<Listings.IListingStore, Listings.GrainListingStore>();
        services.AddActiveChecks();
        services.AddSingleton<ChannelSenders>();
        services.AddSingleton<Configuration.ConfigChecks>();
        return services;
    }

    /// <summary>The outbound-request guard every client of the product goes through.</summary>
    public static IServiceCollection AddOutboundGuard(this IServiceCollection services)
    {
        services.AddOptions<Outbound.OutboundOptions>()
            .BindConfiguration(Outbound.OutboundOptions.Section)
            .Validate(o => o.MaxRedirects is >= 0 and <= 10, "Outbound:MaxRedirects must be 0..10")
            .Validate(o => o.Allow.Concat(o.Deny).All(e => e.Length > 0 && (System.Net.IPNetwork.TryParse(e, out _) || System.Net.IPAddress.TryParse(e, out _) || Uri.CheckHostName(e) == UriHostNameType.Dns)),
                "Outbound:Allow and Outbound:Deny take host names, addresses or CIDR ranges")
            .ValidateOnStart();
        services.TryAddSingleton<Outbound.OutboundGuard>();
        return services;
    }

    /// <summary>Probing, scraping and health reads: bounded concurrency, size-limited replies, no redirects followed.</summary>
    public static IServiceCollection AddActiveChecks(this IServiceCollection services)
    {
        services.AddOptions<ProbingOptions>()
            .BindConfiguration(ProbingOptions.Section)
            .Validate(o => o.MaxConcurrentChecks is > 0 and <= 100_000, "Probing:MaxConcurrentChecks must be 1..100000")
            .Validate(o => o.MaxResponseBytes >= 1024, "Probing:MaxResponseBytes must be at least 1024")
            .Validate(o => o.StaleAfterIntervals >= 1, "Probing:StaleAfterIntervals must be at least 1")
            .ValidateOnStart();
        foreach (var name in new[] { McpProber.HttpClientName, MetricsScraper.HttpClientName })
        {
            services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<Outbound.OutboundGuard>().Handler(followRedirects: false))
                .AddHttpMessageHandler(provider =>
                    new ResponseSizeLimitHandler(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ProbingOptions>>().Value.MaxResponseBytes));
        }
        services.AddOutboundGuard();
        // Discovery reads registries through the outbound guard, answers of at most 16 MB.
        services.AddHttpClient(Discovery.RegistryClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<Outbound.OutboundGuard>().Handler(followRedirects: false))
            .AddHttpMessageHandler(() => new ResponseSizeLimitHandler(16 * 1024 * 1024));
        services.AddSingleton<Discovery.RegistryClient>();
        services.AddSingleton<McpProber>();
        services.AddSingleton<MetricsScraper>();
        services.AddSingleton<HealthReportReader>();
        services.AddSingleton<ServerChecks>();
        return services;
    }
}
