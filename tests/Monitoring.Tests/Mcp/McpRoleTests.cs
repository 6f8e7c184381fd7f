using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Security;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Mcp;

/// <summary>The agents' endpoint with keys, as production runs it: the tool list per role, refusals, and the audit.</summary>
[Collection(SecuredApiCollection.Name)]
public sealed class McpRoleTests(SecuredApiFixture api, ITestOutputHelper output)
{
    private static readonly string[] ReadTools =
        ["fleet_status", "find_servers", "server_details", "list_alerts", "list_incidents", "who_is_on_call", "incident_details", "explain_alert"];

    private static readonly string[] ActionTools = ["check_server_now", "acknowledge", "resolve", "create_silence", "expire_silence"];

    [Fact]
    public async Task A_reader_is_offered_only_the_read_tools_and_an_operator_every_tool_in_under_4000_tokens()
    {
        using var readerHttp = api.As(SecuredApiFixture.Reader);
        await using var reader = await McpClients.ConnectAsync(readerHttp);
        var readerTools = (await reader.ListToolsAsync()).Select(t => t.Name).Order().ToArray();
        Assert.Equal(ReadTools.Order(), readerTools);

        using var operatorHttp = api.As(SecuredApiFixture.Operator);
        await using var @operator = await McpClients.ConnectAsync(operatorHttp);
        var tools = await @operator.ListToolsAsync();
        Assert.Equal(ReadTools.Concat(ActionTools).Order(), tools.Select(t => t.Name).Order());
        foreach (var tool in tools)
        {
            var hints = tool.ProtocolTool.Annotations;
            Assert.True(hints is not null && tool.Description.Length > 20, $"{tool.Name} has no hints or description");
            Assert.Equal(ReadTools.Contains(tool.Name), hints!.ReadOnlyHint == true);
            if (!ReadTools.Contains(tool.Name)) Assert.NotNull(hints.DestructiveHint);
        }

        // The list an agent loads, as the wire carries it: characters / 4 approximates its tokens.
        var listed = JsonSerializer.Serialize(tools.Select(t => t.ProtocolTool), ModelContextProtocol.McpJsonUtilities.DefaultOptions);
        output.WriteLine($"tools/list for an operator: {tools.Count} tools, {listed.Length} characters, about {listed.Length / 4} tokens");
        Assert.True(listed.Length / 4 < 4000, $"the tool list is about {listed.Length / 4} tokens");
    }

    [Fact]
    public async Task A_reader_calling_a_write_tool_is_refused_and_nothing_changes()
    {
        using var admin = api.As(SecuredApiFixture.Admin);
        var auditBefore = (await (await admin.GetAsync("/api/audit?kind=silence&limit=1")).JsonAsync()).GetProperty("total").GetInt32();
        var silencesBefore = (await (await admin.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32();

        using var readerHttp = api.As(SecuredApiFixture.Reader);
        await using var reader = await McpClients.ConnectAsync(readerHttp);
        var refusal = await reader.RefusedAsync("create_silence", new()
        {
            ["matchers"] = new[] { "server_id=payments-1" }, ["duration"] = "1h", ["comment"] = "a reader tries",
        });
        Assert.Contains("needs operator", refusal);
        Assert.Contains("reader", refusal);
        Assert.Contains("needs operator", await reader.RefusedAsync("acknowledge", new() { ["target_id"] = "r1:s1" }));

        Assert.Equal(silencesBefore, (await (await admin.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32());
        Assert.Equal(auditBefore, (await (await admin.GetAsync("/api/audit?kind=silence&limit=1")).JsonAsync()).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task An_operators_silence_through_MCP_is_audited_with_the_keys_name_via_MCP()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        using var operatorHttp = api.As(SecuredApiFixture.Operator);
        await using var @operator = await McpClients.ConnectAsync(operatorHttp);
        var created = await @operator.CallAsync("create_silence", new()
        {
            ["matchers"] = new[] { $"t={id}", "severity=~warning|info" }, ["duration"] = "2h", ["comment"] = "deploying the gateway",
        });
        var silenceId = created.GetProperty("id").GetString()!;
        Assert.Equal("active", created.GetProperty("state").GetString());

        using var admin = api.As(SecuredApiFixture.Admin);
        var silence = await (await admin.GetAsync($"/api/silences/{silenceId}")).JsonAsync();
        Assert.Equal("operator via MCP", silence.GetProperty("createdBy").GetString());
        Assert.Equal("deploying the gateway", silence.GetProperty("comment").GetString());
        var audit = (await (await admin.GetAsync($"/api/audit?kind=silence&resourceId={silenceId}")).JsonAsync()).GetProperty("items").EnumerateArray().ToList();
        var entry = Assert.Single(audit);
        Assert.Equal("operator via MCP", entry.GetProperty("actor").GetString());
        Assert.Equal("create silence", entry.GetProperty("action").GetString());

        var expired = await @operator.CallAsync("expire_silence", new() { ["silence_id"] = silenceId });
        Assert.Equal("expired", expired.GetProperty("state").GetString());
        audit = (await (await admin.GetAsync($"/api/audit?kind=silence&resourceId={silenceId}")).JsonAsync()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["expire silence", "create silence"], audit.Select(e => e.GetProperty("action").GetString()));
        Assert.All(audit, e => Assert.Equal("operator via MCP", e.GetProperty("actor").GetString()));

        // Longer than an agent may silence, or without a reason: refused, and nothing is stored.
        var before = (await (await admin.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32();
        Assert.Contains("the most an agent may silence", await @operator.RefusedAsync("create_silence", new() { ["matchers"] = new[] { $"t={id}" }, ["duration"] = "3d", ["comment"] = "too long" }));
        Assert.Contains("comment", await @operator.RefusedAsync("create_silence", new() { ["matchers"] = new[] { $"t={id}" }, ["duration"] = "1h", ["comment"] = " " }));
        Assert.Equal(before, (await (await admin.GetAsync("/api/silences")).JsonAsync()).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Without_a_valid_key_the_endpoint_answers_401_and_an_older_protocol_revision_still_connects()
    {
        using var none = api.As(null);
        using var response = await none.PostAsync("/mcp", new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var wrong = api.As("mcpk_000000000000_not-a-key");
        await Assert.ThrowsAnyAsync<Exception>(() => McpClients.ConnectAsync(wrong));

        using var readerHttp = api.As(SecuredApiFixture.Reader);
        await using var legacy = await McpClients.ConnectAsync(readerHttp, "2025-06-18");
        Assert.Equal("2025-06-18", legacy.NegotiatedProtocolVersion);
        var status = await legacy.CallAsync("fleet_status");
        Assert.True(status.GetProperty("byHealth").TryGetProperty("unhealthy", out _));
    }
}
