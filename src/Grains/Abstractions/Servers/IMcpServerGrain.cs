using Monitoring.Common;
using Monitoring.Rules;

namespace Monitoring.Servers;

/// <summary>One monitored MCP server: its registration, its metric window, and the evaluation of the rules that select it.</summary>
public interface IMcpServerGrain : IGrainWithStringKey
{
    Task<WriteResult> RegisterAsync(McpServer server);

    Task<WriteResult> UpdateAsync(McpServer server);

    Task<bool> DeleteAsync();

    Task<McpServer?> GetAsync();

    Task<ServerStatus?> GetStatusAsync();

    Task<IngestResult> IngestAsync(TelemetryBatch batch);

    /// <summary>Re-evaluates every rule that selects this server now. The periodic timer calls it too.</summary>
    Task EvaluateAsync();

    /// <summary>
    /// The rule catalog pushes every change here, so rule edits apply without a restart. Awaited by the catalog,
    /// so a rule write returns only once every server holds the new rules.
    /// </summary>
    Task RulesChangedAsync(RuleSet rules);
}
