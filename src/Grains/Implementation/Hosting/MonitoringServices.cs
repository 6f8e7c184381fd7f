using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monitoring.Channels;
using Monitoring.Channels.Webhook;

namespace Monitoring.Hosting;

public static class MonitoringServices
{
    /// <summary>Everything the grains need from the container, whichever way the silo is hosted.</summary>
    public static IServiceCollection AddMonitoringGrains(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>()
            .BindConfiguration(MonitoringOptions.Section)
            .Validate(o => o.MetricWindow >= TimeSpan.FromSeconds(20), "Monitoring:MetricWindow must be at least 20s")
            .Validate(o => o.EvaluationInterval >= TimeSpan.FromSeconds(1), "Monitoring:EvaluationInterval must be at least 1s")
            .Validate(o => o.MaxTelemetryBatch is > 0 and <= 1_000_000, "Monitoring:MaxTelemetryBatch must be 1..1000000")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(WebhookSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = 64,
            });
        services.AddSingleton<IChannelSender, WebhookSender>();
        services.AddSingleton<ChannelSenders>();
        return services;
    }
}
