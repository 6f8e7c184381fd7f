using Monitoring.Probing;

namespace Monitoring.Servers;

[GenerateSerializer, Alias("mcp.McpServerState")]
public sealed class McpServerState
{
    [Id(0), JsonPropertyName("Server")] public McpServer? Server { get; set; }

    /// <summary>Rules with an alert in pending or firing on this server: evaluated even when the condition is false, so they can clear.</summary>
    [Id(1), JsonPropertyName("OpenAlertRules")] public HashSet<string> OpenAlertRules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The tool list of the last successful probe, kept so a change is noticed across restarts.</summary>
    [Id(2), JsonPropertyName("KnownTools")] public string[]? KnownTools { get; set; }

    [Id(3), JsonPropertyName("LastToolSetChange")] public ToolSetChange? LastToolSetChange { get; set; }

    /// <summary>Ingest tokens of this server: id to SHA-256 hash.</summary>
    [Id(4), JsonPropertyName("IngestTokens")] public Dictionary<string, string> IngestTokens { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The protocol era a probe last reached the server in, so the next probe goes straight there.</summary>
    [Id(5), JsonPropertyName("ProbeEra")] public ProbeEra? ProbeEra { get; set; }
}

/// <summary>
/// The server's metric window as <see cref="MetricWindow.Export"/> wrote it, kept apart from the registration and
/// written behind (at most every 30 s while it changes), so a new activation after a restart or a silo's death starts
/// with the data it had instead of an empty window.
/// </summary>
[GenerateSerializer, Alias("mcp.ServerWindowState")]
public sealed class ServerWindowState
{
    [Id(0), JsonPropertyName("Data")] public byte[]? Data { get; set; }
    [Id(1), JsonPropertyName("At")] public DateTimeOffset At { get; set; }
}
