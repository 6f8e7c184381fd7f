using Monitoring.Common;

namespace Monitoring.Servers;

/// <summary>What a registration must satisfy before it is stored, and how it is stored.</summary>
internal static class ServerRegistration
{
    /// <summary>A refusal when an address the server names can never be reached under the outbound policy (metadata, link-local).</summary>
    public static WriteResult? Unreachable(McpServer server, Outbound.OutboundGuard outbound)
    {
        var errors = new List<FieldError>();
        foreach (var (field, url) in new[] { ("endpoint", server.Endpoint), ("metricsUrl", server.MetricsUrl), ("healthUrl", server.HealthUrl) })
        {
            if (url is not null && outbound.LiteralRefusal(url) is { } reason) errors.Add(new FieldError(field, $"can never be reached: {reason}"));
        }
        return errors.Count > 0 ? WriteResult.Invalid([.. errors]) : null;
    }

    /// <summary>Probe header values (bearer tokens) are sealed at rest; a kept header is already sealed and stays as it is.</summary>
    public static McpServer Sealed(McpServer server, Security.SecretSealer sealer) => server.Probe.Headers.Count == 0 ? server : server with
    {
        Probe = server.Probe with
        {
            Headers = server.Probe.Headers.ToDictionary(h => h.Key, h => h.Value.StartsWith("dp1:", StringComparison.Ordinal) ? h.Value : sealer.Seal(h.Value), StringComparer.OrdinalIgnoreCase),
        },
    };
}
