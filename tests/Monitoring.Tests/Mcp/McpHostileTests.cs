using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Mcp;

/// <summary>
/// The hostile corpus of /mcp: malformed JSON-RPC, unknown methods and tools, huge and mistyped arguments. Every case
/// is answered with a JSON-RPC error (or a tool error, for a call that reached a tool) within the time bound, never a
/// 5xx, and the silences and the audit log read back unchanged.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class McpHostileTests(ApiFixture api)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    private static string Call(string tool, string arguments) =>
        $$$"""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""";

    public static TheoryData<string, string> Cases()
    {
        var huge = new string('x', 1_000_000);
        var many = "[" + string.Join(",", Enumerable.Repeat("\"a=b\"", 10_000)) + "]";
        var deep = new string('[', 5_000) + new string(']', 5_000);
        return new TheoryData<string, string>
        {
            { "truncated", """{"jsonrpc":"2.0","id":1,"method":"tools/li""" },
            { "not JSON", "tools/list please" },
            { "an array", "[]" },
            { "a number", "42" },
            { "deep nesting", deep },
            { "no method", """{"jsonrpc":"2.0","id":1}""" },
            { "wrong version", """{"jsonrpc":"1.0","id":1,"method":"tools/list"}""" },
            { "method not a string", """{"jsonrpc":"2.0","id":1,"method":12}""" },
            { "unknown method", """{"jsonrpc":"2.0","id":1,"method":"alerts/delete_all"}""" },
            { "unknown tool", Call("drop_database", "{}") },
            { "tool name not a string", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":{"x":1}}}""" },
            { "arguments not an object", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fleet_status","arguments":[1,2]}}""" },
            { "huge id", Call("server_details", $$"""{"server_id":"{{huge}}"}""") },
            { "huge comment", Call("create_silence", $$"""{"matchers":["a=b"],"duration":"1h","comment":"{{huge}}"}""") },
            { "ten thousand matchers", Call("create_silence", $$"""{"matchers":{{many}},"duration":"1h","comment":"x"}""") },
            { "wrong type", Call("create_silence", """{"matchers":"a=b","duration":60,"comment":true}""") },
            { "negative limit", Call("list_alerts", """{"limit":-1}""") },
            { "float limit", Call("list_alerts", """{"limit":1.5}""") },
            { "overflowing limit", Call("list_alerts", """{"limit":1e400}""") },
            { "broken regex", Call("create_silence", """{"matchers":["a=~(unclosed","b=c"],"duration":"1h","comment":"x"}""") },
            { "injection-looking id", Call("explain_alert", """{"alert_id":"r';DROP TABLE alerts;--:s"}""") },
            { "control characters", Call("acknowledge", """{"target_id":"inc-\u0000\u001b[31m"}""") },
            { "unknown argument", Call("fleet_status", """{"__proto__":{"admin":true}}""") },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_request_gets_a_JSON_RPC_error_in_time_and_changes_nothing(string kind, string body)
    {
        var silences = await api.Http.GetStringAsync("/api/silences?limit=500");
        var audit = (await (await api.Http.GetAsync("/api/audit?limit=1")).JsonAsync()).GetProperty("total").GetInt32();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        var started = Stopwatch.GetTimestamp();
        using var response = await api.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.True((int)response.StatusCode < 500, $"{kind}: {(int)response.StatusCode} {Clip(text)}");
        Assert.True(elapsed < Bound, $"{kind}: {elapsed.TotalMilliseconds:F0} ms");
        var message = Message(text);
        Assert.True(message.TryGetProperty("error", out var error) && error.TryGetProperty("message", out _)
            || message.TryGetProperty("result", out var result) && result.TryGetProperty("isError", out var isError) && isError.GetBoolean(),
            $"{kind}: neither a JSON-RPC error nor a tool error: {Clip(text)}");
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain("   at ", text);

        Assert.Equal(silences, await api.Http.GetStringAsync("/api/silences?limit=500"));
        Assert.Equal(audit, (await (await api.Http.GetAsync("/api/audit?limit=1")).JsonAsync()).GetProperty("total").GetInt32());
    }

    /// <summary>The JSON-RPC message of a plain JSON answer, or of the first event of an event stream.</summary>
    private static JsonElement Message(string text)
    {
        var data = text.Split('\n').FirstOrDefault(l => l.StartsWith("data: ", StringComparison.Ordinal)) is { } line ? line["data: ".Length..] : text;
        return JsonDocument.Parse(data).RootElement.Clone();
    }

    private static string Clip(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
