using System.Text.Json;
using Monitoring.Security;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Mcp;

/// <summary>A client nobody here wrote: the MCP Inspector's CLI, against the product as its own process, with a key.</summary>
public sealed class McpInspectorTests
{
    private const string ReaderKey = "mcpk_dddddddddddd_reader-key-for-the-inspector";

    [Fact]
    public async Task The_MCP_Inspector_lists_the_readers_tools_and_calls_fleet_status()
    {
        Assert.Contains($"inspector_version={McpInspector.Version}", File.ReadAllText(Repository.PathTo(".ci", "run"))); // CI installs the same one
        await using var api = await EmbeddedApiProcess.StartAsync(
            ("Auth__Keys__0__Name", "inspector"), ("Auth__Keys__0__Role", "Reader"), ("Auth__Keys__0__Hash", KeyMaterial.Hash(ReaderKey)));
        var url = new Uri(api.Http.BaseAddress!, "/mcp").ToString();
        var bearer = $"Authorization: Bearer {ReaderKey}";

        var (code, output) = await McpInspector.RunAsync("--cli", url, "--transport", "http", "--header", bearer, "--method", "tools/list");
        Assert.True(code == 0, output);
        var tools = JsonDocument.Parse(output).RootElement.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Contains("fleet_status", tools);
        Assert.Contains("explain_alert", tools);
        Assert.DoesNotContain("create_silence", tools); // a reader's list

        (code, output) = await McpInspector.RunAsync("--cli", url, "--transport", "http", "--header", bearer,
            "--method", "tools/call", "--tool-name", "fleet_status", "--tool-arg", "worst=3");
        Assert.True(code == 0, output);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.False(result.TryGetProperty("isError", out var isError) && isError.GetBoolean(), output);
        var status = JsonDocument.Parse(result.GetProperty("content")[0].GetProperty("text").GetString()!).RootElement;
        Assert.Equal(0, status.GetProperty("servers").GetInt32());
        Assert.Equal(4, status.GetProperty("byHealth").EnumerateObject().Count());

        // Without the key, the Inspector is refused.
        (code, output) = await McpInspector.RunAsync("--cli", url, "--transport", "http", "--method", "tools/list");
        Assert.NotEqual(0, code);
        Assert.Contains("401", output);
    }
}
