using System.Security.Claims;
using Microsoft.Extensions.Options;
using Monitoring.Api.Problems;
using Monitoring.Replication;
using Monitoring.Security;

namespace Monitoring.Api.Security;

/// <summary>A key from configuration (or a Kubernetes Secret): a name, a role and the key's SHA-256 hash, never the key.</summary>
public sealed class ConfiguredKey
{
    public string Name { get; set; } = "";
    public Role Role { get; set; } = Role.Reader;
    public string Hash { get; set; } = "";

    /// <summary>The person (a user id) the key belongs to, if any: what it does is done as them.</summary>
    public string? User { get; set; }
}

/// <summary>Who a key is: its name, its role, and the person it belongs to, if any.</summary>
public sealed record KeyIdentity(string Name, Role Role, string? User);

/// <summary>Authentication settings, bound from "Auth".</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Keys that always work; rotate by adding the new one, deploying, then removing the old one (reloaded live).</summary>
    public List<ConfiguredKey> Keys { get; set; } = [];

    /// <summary>Whether /metrics answers without a key.</summary>
    public bool MetricsOpen { get; set; } = true;

    /// <summary>Requests a minute per key.</summary>
    public int RequestsPerMinute { get; set; } = 1200;
}

/// <summary>Whether this process demands keys: production always; the embedded mode only when keys are configured.</summary>
public sealed record AuthMode(bool Required);

/// <summary>Finds who a presented key belongs to: configured keys first, then keys made through the API (cached, 1 s).</summary>
public sealed class ApiKeyResolver(IOptionsMonitor<AuthOptions> options, IGrainFactory grains)
{
    private readonly Replica<ApiKeySet> _replica = new(ApiKeySet.Empty, set => set.Version,
        known => grains.GetGrain<IApiKeyCatalogGrain>(IApiKeyCatalogGrain.Key).GetIfChangedAsync(known), TimeProvider.System, TimeSpan.FromSeconds(1), waitWhenStale: true);

    public void Invalidate() => _replica.Invalidate();

    public async Task<KeyIdentity?> ResolveAsync(string presented)
    {
        var hash = KeyMaterial.Hash(presented);
        foreach (var key in options.CurrentValue.Keys)
        {
            if (KeyMaterial.HashesEqual(hash, key.Hash)) return new(key.Name, key.Role, key.User);
        }
        if (KeyMaterial.IdOf(presented, KeyMaterial.ApiKeyPrefix) is not { } id) return null;
        var set = await CurrentAsync();
        return set.Keys.FirstOrDefault(k => k.Id == id) is { } stored && KeyMaterial.HashesEqual(hash, stored.Hash) ? new(stored.Name, stored.Role, stored.User) : null;
    }

    /// <summary>Who a key's hash belongs to now (a console session keeps the hash, never the key): null once revoked.</summary>
    public async Task<KeyIdentity?> ResolveHashAsync(string hash)
    {
        foreach (var key in options.CurrentValue.Keys)
        {
            if (KeyMaterial.HashesEqual(hash, key.Hash)) return new(key.Name, key.Role, key.User);
        }
        var set = await CurrentAsync();
        return set.Keys.FirstOrDefault(k => KeyMaterial.HashesEqual(hash, k.Hash)) is { } stored ? new(stored.Name, stored.Role, stored.User) : null;
    }

    public Task<ApiKeySet> CurrentAsync() => _replica.GetAsync();
}

/// <summary>
/// Authentication and roles on every endpoint, present and future: GET needs a reader, acting on alerts, silences,
/// telemetry, checks and channel tests needs an operator, every other write needs an admin. /health/live and
/// /health/ready are open; /metrics is open unless Auth:MetricsOpen is false. A per-server ingest token may only
/// push telemetry for its own server.
/// </summary>
public sealed class AuthMiddleware(RequestDelegate next, ApiKeyResolver keys, IOptionsMonitor<AuthOptions> options, IGrainFactory grains, AuthMode mode)
{
    private static readonly HashSet<(string, string)> OperatorRoutes =
    [
        ("POST", "/api/alerts/{id}/ack"), ("POST", "/api/alerts/{id}/resolve"), ("POST", "/api/alerts/{id}/suppress"),
        ("POST", "/api/silences/"), ("PUT", "/api/silences/{id}"), ("DELETE", "/api/silences/{id}"), ("POST", "/api/silences/{id}/expire"),
        ("POST", "/api/servers/{id}/telemetry"), ("POST", "/api/servers/{id}/check"), ("POST", "/api/channels/{id}/test"),
        ("POST", "/api/incidents/{id}/ack"), ("POST", "/api/incidents/{id}/resolve"),
        ("POST", "/api/v2/silences"), ("DELETE", "/api/v2/silence/{silenceID}"), ("POST", BulkTelemetryPath),
        ("POST", OtlpMetricsPath), ("POST", "/api/schedules/{id}/overrides"), ("DELETE", "/api/schedules/{id}/overrides/{overrideId}"),
        ("POST", "/api/schedules/{id}/feeds"), ("DELETE", "/api/schedules/{id}/feeds/{feedId}"), ("POST", "/api/users/{id}/feeds"), ("DELETE", "/api/users/{id}/feeds/{feedId}"),
        ("POST", "/api/heartbeats/{id}/pause"), ("POST", "/api/heartbeats/{id}/resume"),
    ];

    /// <summary>What a sender key (Prometheus's) may do: post alerts through the Alertmanager API, nothing else.</summary>
    private static readonly HashSet<(string, string)> SenderRoutes = [("POST", "/api/v2/alerts")];

    /// <summary>Posts that only read: asking which routes a label set would take.</summary>
    private static readonly HashSet<string> ReaderPosts = ["/api/routing/test", "/api/config/plan"];

    /// <summary>Reads that only an admin may make: the audit log and the key list.</summary>
    private static readonly HashSet<string> AdminReads = ["/api/audit", "/api/keys/"];

    /// <summary>Telemetry for many servers: an operator's key, or no key and every server's own ingest token in the body.</summary>
    public const string BulkTelemetryPath = "/api/telemetry";

    /// <summary>OTLP/HTTP metrics: an operator's key, or a server's ingest token for points naming that server only (the endpoint checks).</summary>
    public const string OtlpMetricsPath = "/v1/metrics";

    /// <summary>Where an ingest token presented on the OTLP path is left, hashed, for its endpoint to check against every server named.</summary>
    public const string OtlpIngestTokenItem = "otlp.ingest-token-hash";

    /// <summary>Slack's interactivity callback: it carries no key but Slack's signature, which its endpoint checks.</summary>
    public const string SlackCallbackPath = "/slack/interactions";

    public static Role Required(string method, string? route) =>
        route is not null && route.TrimEnd('/') == Mcp.McpEndpoint.Path ? Role.Reader // each tool checks its own role
        : route is not null && SenderRoutes.Contains((method.ToUpperInvariant(), route)) ? Role.Sender
        : route is not null && AdminReads.Contains(route) ? Role.Admin
        : HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsPost(method) && route is not null && ReaderPosts.Contains(route) ? Role.Reader
        : route is not null && OperatorRoutes.Contains((method.ToUpperInvariant(), route)) ? Role.Operator
        : Role.Admin;

    public static bool IsOpen(PathString path, AuthOptions options) =>
        path.Equals("/health/live") || path.Equals("/health/ready") || path.Equals("/-/healthy") || path.Equals("/-/ready") || path.Equals(SlackCallbackPath) || path.StartsWithSegments(Endpoints.CalendarFeedEndpoints.Path) || path.StartsWithSegments(Endpoints.HeartbeatEndpoints.PingPath) || (options.MetricsOpen && path.Equals("/metrics"));

    public async Task InvokeAsync(HttpContext context)
    {
        if (ConsolePaths.IsConsole(context.Request.Path))
        {
            await ConsoleSession.AuthenticateAsync(context, next, keys, mode);
            return;
        }
        if (!mode.Required || IsOpen(context.Request.Path, options.CurrentValue))
        {
            await next(context);
            return;
        }
        var presented = Presented(context.Request);
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        if (presented is null && route == BulkTelemetryPath && HttpMethods.IsPost(context.Request.Method))
        {
            // No key: the endpoint demands every server's own ingest token in the body.
            context.User = Principal("ingest-tokens", Role.Sender);
            await next(context);
            return;
        }
        if (presented is null)
        {
            await Deny(context, StatusCodes.Status401Unauthorized, "An API key is required: send it as 'Authorization: Bearer <key>', 'X-Api-Key', or as the password of basic auth.");
            return;
        }
        if (presented.StartsWith(KeyMaterial.IngestTokenPrefix, StringComparison.Ordinal) && route == OtlpMetricsPath && HttpMethods.IsPost(context.Request.Method))
        {
            // OTLP names its servers in the body: the endpoint checks that every one accepts this token.
            context.Items[OtlpIngestTokenItem] = KeyMaterial.Hash(presented);
            context.User = Principal("ingest-token", Role.Reader);
            await next(context);
            return;
        }
        if (presented.StartsWith(KeyMaterial.IngestTokenPrefix, StringComparison.Ordinal))
        {
            var serverId = context.Request.RouteValues["id"] as string;
            if (!HttpMethods.IsPost(context.Request.Method) || route != "/api/servers/{id}/telemetry" || serverId is null
                || !await grains.GetGrain<Monitoring.Servers.IMcpServerGrain>(serverId).AcceptsIngestTokenAsync(KeyMaterial.Hash(presented)))
            {
                await Deny(context, StatusCodes.Status403Forbidden, "An ingest token may only push telemetry to its own server.");
                return;
            }
            context.User = Principal($"ingest:{serverId}", Role.Reader);
            await next(context);
            return;
        }
        if (await keys.ResolveAsync(presented) is not { } identity)
        {
            await Deny(context, StatusCodes.Status401Unauthorized, "The API key is not valid (unknown, mistyped or revoked).");
            return;
        }
        var required = Required(context.Request.Method, route);
        if (identity.Role < required)
        {
            await Deny(context, StatusCodes.Status403Forbidden,
                $"The key '{identity.Name}' has the role {identity.Role.ToString().ToLowerInvariant()}; this needs {required.ToString().ToLowerInvariant()}.");
            return;
        }
        context.User = ConsoleSession.Principal(identity, keyHash: null, "ApiKey");
        await next(context);
    }

    private static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        // Prometheus's alertmanagers config may send basic auth: the password is the key (the user name is not checked).
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
                var colon = pair.IndexOf(':');
                var password = colon < 0 ? pair : pair[(colon + 1)..];
                return password.Length > 0 ? password : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    private static ClaimsPrincipal Principal(string name, Role role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role.ToString().ToLowerInvariant())], "ApiKey"));

    private static Task Deny(HttpContext context, int status, string detail) =>
        Results.Problem(statusCode: status, title: status == 401 ? "Authentication required" : "Forbidden", detail: detail).ExecuteAsync(context);
}
