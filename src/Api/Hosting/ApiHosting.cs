using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monitoring.Api.Config;
using Monitoring.Api.Endpoints;
using Monitoring.Api.Audit;
using Monitoring.Api.Mcp;
using Monitoring.Api.Contracts;
using Monitoring.Api.Security;
using Monitoring.Api.Telemetry;
using Monitoring.Api.Web;
using Monitoring.Hosting.Health;
using Monitoring.Listings;
using Monitoring.Api.Problems;
using Prometheus;

namespace Monitoring.Api.Hosting;

public static class ApiHosting
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static IServiceCollection AddMonitoringApi(this IServiceCollection services, bool production, IConfiguration configuration)
    {
        services.AddOptions<Security.AuthOptions>().BindConfiguration(Security.AuthOptions.Section)
            .Validate(o => o.Keys.All(k => k.Hash.StartsWith("sha256:", StringComparison.Ordinal) && k.Hash.Length == 71 && k.Name.Length > 0),
                "Auth:Keys: every key needs a Name and a Hash of the form sha256:<64 hex digits>")
            .Validate(o => o.RequestsPerMinute > 0, "Auth:RequestsPerMinute must be more than 0")
            .ValidateOnStart();
        var keysConfigured = configuration.GetSection("Auth:Keys").GetChildren().Any();
        services.AddSingleton(new Security.AuthMode(production || keysConfigured));
        services.AddSingleton<Security.ApiKeyResolver>();
        services.AddSingleton<Telemetry.TelemetryIngest>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = System.Threading.RateLimiting.PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Request.Path.StartsWithSegments(Endpoints.HeartbeatEndpoints.PingPath, out var rest)
                    // A ping URL carries no key: each one (its token) has its own budget.
                    ? System.Threading.RateLimiting.RateLimitPartition.GetFixedWindowLimiter("ping" + rest.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(), _ =>
                        new System.Threading.RateLimiting.FixedWindowRateLimiterOptions { PermitLimit = Endpoints.HeartbeatEndpoints.PingsPerMinute, Window = TimeSpan.FromMinutes(1) })
                : context.User.Identity?.Name is { } name
                    ? System.Threading.RateLimiting.RateLimitPartition.GetFixedWindowLimiter(name, _ => new System.Threading.RateLimiting.FixedWindowRateLimiterOptions
                    {
                        PermitLimit = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<Security.AuthOptions>>().CurrentValue.RequestsPerMinute,
                        Window = TimeSpan.FromMinutes(1),
                    })
                    : System.Threading.RateLimiting.RateLimitPartition.GetNoLimiter("open"));
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<UnavailableExceptionHandler>();
        // Binding failures throw, so the handler above can say where the body was wrong.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        services.AddOpenApi();
        services.AddOptions<TelemetryLimits>().BindConfiguration(TelemetryLimits.Section)
            .Validate(o => o.MaxTelemetryBatch is > 0 and <= 1_000_000, "Monitoring:MaxTelemetryBatch must be 1..1000000")
            .ValidateOnStart();
        services.AddSingleton<Config.ConfigPlanner>();
        services.AddMonitoringConsole();
        services.AddMonitoringMcp();
        services.AddHealthChecks().AddCheck<GrainsHealthCheck>("grains", tags: [HealthChecks.Ready], timeout: TimeSpan.FromSeconds(5));
        return services;
    }

    public static WebApplication UseMonitoringApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseHttpMetrics();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseMiddleware<Security.AuthMiddleware>();
        app.UseMiddleware<Config.YamlBodies>(); // a YAML document goes on as the JSON it means, through the guards
        app.UseMiddleware<RequestGuards>();
        app.UseRateLimiter();
        app.MapOpenApi("/openapi/v1.json"); // one document; any other name is an ordinary 404 problem
        app.MapServerEndpoints();
        app.MapBulkTelemetryEndpoint();
        app.MapOtlpEndpoints();
        app.MapRuleEndpoints();
        app.MapChannelEndpoints();
        app.MapAlertEndpoints();
        app.MapEscalationPolicyEndpoints();
        app.MapOnCallEndpoints();
        app.MapCalendarFeedEndpoints();
        app.MapHeartbeatEndpoints();
        app.MapSloEndpoints();
        app.MapDiscoveryEndpoints();
        app.MapSilenceEndpoints();
        app.MapRoutingEndpoints();
        app.MapConfigEndpoints();
        app.MapAlertmanagerEndpoints();
        app.MapClusterEndpoints();
        app.MapKeyEndpoints();
        app.MapAuditEndpoints();
        app.MapMonitoringMcp();
        app.MapHealthEndpoints();
        app.MapMetrics();
        app.MapMonitoringConsole();

        var listings = app.Services.GetRequiredService<IListingStore>();
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var alerts = await listings.CountByAsync<AlertEntry>("status", "severity");
            foreach (var status in Enum.GetNames<Alerts.AlertStatus>().Select(s => s.ToLowerInvariant()))
            {
                foreach (var severity in Enum.GetNames<Common.Severity>().Select(s => s.ToLowerInvariant()))
                {
                    FleetMetrics.Alerts.WithLabels(status, severity).Set(alerts.GetValueOrDefault($"{status}|{severity}"));
                }
            }
            var servers = await listings.CountByAsync<ServerEntry>("health");
            foreach (var health in Enum.GetNames<Servers.HealthState>().Select(s => s.ToLowerInvariant()))
            {
                FleetMetrics.Servers.WithLabels(health).Set(servers.GetValueOrDefault(health));
            }
        });
        return app;
    }
}
