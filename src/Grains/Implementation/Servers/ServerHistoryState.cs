using Monitoring.Servers.History;

namespace Monitoring.Servers;

/// <summary>A server's long-range history as stored: <see cref="ServerHistory.Export"/>'s bytes, written behind.</summary>
[GenerateSerializer, Alias("mcp.ServerHistoryState")]
public sealed class ServerHistoryState
{
    [Id(0), JsonPropertyName("Data")] public byte[]? Data { get; set; }
    [Id(1), JsonPropertyName("At")] public DateTimeOffset At { get; set; }
}
