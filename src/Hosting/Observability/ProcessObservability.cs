using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Observability;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace Monitoring.Hosting.Observability;

/// <summary>
/// Traces and the Orleans dashboard, for the API and the silo alike. Traces go out over OTLP when the standard
/// OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set, and are off otherwise; the exporter reads the other
/// OTEL_EXPORTER_OTLP_* variables itself. They follow a request through ASP.NET Core, Orleans grain calls (activity
/// propagation), each delivery attempt, and outbound HTTP.
/// </summary>
public static class ProcessObservability
{
    public static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static bool TracingConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);

    public static IServiceCollection AddMonitoringTracing(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        if (!TracingConfigured(configuration)) return services;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? serviceName))
            .WithTracing(tracing => tracing
                .AddSource([.. OrleansSources, MonitoringTracing.SourceName])
                .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments("/metrics") && !context.Request.Path.StartsWithSegments("/health"))
                // Webhook and Slack URLs can carry credentials in their path: spans keep only scheme, host and port.
                .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, request) =>
                {
                    if (request.RequestUri is { } uri)
                    {
                        activity.SetTag("url.full", $"{uri.Scheme}://{uri.Authority}/…");
                        activity.SetTag("url.path", null);
                        activity.SetTag("url.query", null);
                    }
                })
                .AddOtlpExporter());
        return services;
    }

    /// <summary>The Orleans dashboard is off unless Dashboard:Enabled is true, on every silo and on the API.</summary>
    public static bool DashboardEnabled(IConfiguration configuration) => configuration.GetValue("Dashboard:Enabled", false);

    public static ISiloBuilder AddMonitoringDashboard(this ISiloBuilder silo, IConfiguration configuration) =>
        DashboardEnabled(configuration) ? silo.AddDashboard() : silo;

    public static IClientBuilder AddMonitoringDashboard(this IClientBuilder client, IConfiguration configuration) =>
        DashboardEnabled(configuration) ? client.AddDashboard() : client;

    /// <summary>Mounts the dashboard at /dashboard when enabled. It has no login of its own: expose it only inside.</summary>
    public static void MapMonitoringDashboard(this WebApplication app)
    {
        if (DashboardEnabled(app.Configuration)) app.MapOrleansDashboard("/dashboard");
    }
}
