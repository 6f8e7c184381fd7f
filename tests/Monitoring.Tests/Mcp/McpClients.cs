using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Monitoring.Tests.Mcp;

/// <summary>The official MCP C# client, connected to a test's API as an agent would connect to /mcp.</summary>
public static class McpClients
{
    public static Task<McpClient> ConnectAsync(HttpClient http, string? protocolVersion = null) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(http.BaseAddress!, "/mcp"), TransportMode = HttpTransportMode.StreamableHttp },
                http, ownsHttpClient: false),
            new McpClientOptions { ClientInfo = new Implementation { Name = "monitoring-tests", Version = "1.0.0" }, ProtocolVersion = protocolVersion });

    /// <summary>Calls a tool that must succeed and answers its JSON.</summary>
    public static async Task<JsonElement> CallAsync(this McpClient client, string tool, Dictionary<string, object?>? arguments = null)
    {
        var result = await client.CallToolAsync(tool, arguments ?? []);
        var text = Text(result);
        Assert.False(result.IsError == true, $"{tool}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Calls a tool that must refuse, and answers what it said.</summary>
    public static async Task<string> RefusedAsync(this McpClient client, string tool, Dictionary<string, object?>? arguments = null)
    {
        var result = await client.CallToolAsync(tool, arguments ?? []);
        Assert.True(result.IsError == true, $"{tool} should have been refused: {Text(result)}");
        return Text(result);
    }

    public static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
}
