using Monitoring.Common;
using Monitoring.Outbound;

namespace Monitoring.Servers;

/// <summary>Stateless: the outbound policy's verdict on a batch of servers' addresses, so a bulk apply refuses before it writes.</summary>
[StatelessWorker, GrainType("serveraddresscheck")]
public sealed class ServerAddressCheckGrain(OutboundGuard outbound) : Grain, IServerAddressCheckGrain
{
    public Task<FieldError[]> CheckAsync(McpServer[] servers)
    {
        var errors = new List<FieldError>();
        for (var i = 0; i < servers.Length && errors.Count < 100; i++)
        {
            foreach (var (field, url) in new[] { ("endpoint", servers[i].Endpoint), ("metricsUrl", servers[i].MetricsUrl), ("healthUrl", servers[i].HealthUrl) })
            {
                if (url is not null && outbound.LiteralRefusal(url) is { } reason) errors.Add(new FieldError($"servers[{i}].{field}", $"can never be reached: {reason}"));
            }
        }
        return Task.FromResult(errors.ToArray());
    }
}
