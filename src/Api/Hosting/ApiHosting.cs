using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Monitoring.Api.Endpoints;
using Monitoring.Api.Problems;
using Monitoring.Indexing;
using Monitoring.Telemetry;
using Prometheus;

namespace Monitoring.Api.Hosting;

public static class ApiHosting
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static IServiceCollection AddMonitoringApi(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Binding failures throw, so the handler above can say where the body was wrong.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        services.AddOpenApi();
        return services;
    }

    public static WebApplication UseMonitoringApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHttpMetrics();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.MapOpenApi();
        app.MapServerEndpoints();
        app.MapRuleEndpoints();
        app.MapChannelEndpoints();
        app.MapAlertEndpoints();
        app.MapEscalationPolicyEndpoints();
        app.MapSilenceEndpoints();
        app.MapClusterEndpoints();
        app.MapHealthEndpoints();
        app.MapMetrics();

        var listings = app.Services.GetRequiredService<IListingStore>();
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var alerts = await listings.CountByAsync<AlertEntry>("status", "severity");
            foreach (var status in Enum.GetNames<Alerts.AlertStatus>().Select(s => s.ToLowerInvariant()))
            {
                foreach (var severity in Enum.GetNames<Common.Severity>().Select(s => s.ToLowerInvariant()))
                {
                    MonitoringMetrics.Alerts.WithLabels(status, severity).Set(alerts.GetValueOrDefault($"{status}|{severity}"));
                }
            }
            var servers = await listings.CountByAsync<ServerEntry>("health");
            foreach (var health in Enum.GetNames<Servers.HealthState>().Select(s => s.ToLowerInvariant()))
            {
                MonitoringMetrics.Servers.WithLabels(health).Set(servers.GetValueOrDefault(health));
            }
        });
        return app;
    }
}
