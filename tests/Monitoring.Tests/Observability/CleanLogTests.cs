using System.Diagnostics;
using System.Net;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Observability;

/// <summary>
/// The first hour as a newcomer sees it: the product started as `dotnet run` starts it, with its default logging.
/// The first line says where it listens, in which mode and what is kept; probing servers does not fill the log; a
/// firing alert is one line; Ctrl-C stops it in a few seconds, cleanly.
/// </summary>
public sealed class CleanLogTests
{
    [Fact]
    public async Task The_log_starts_with_a_summary_stays_quiet_and_ctrl_c_stops_cleanly()
    {
        await using var api = await EmbeddedApiProcess.StartAsync(("Logging__Console__FormatterName", "simple"));
        var lines = api.Process.FirstLines;
        await Eventually.TrueAsync(() => lines.Any(l => l.Contains("MCP alerting on http://127.0.0.1:")), "the start-up summary");
        var text = string.Join('\n', lines);
        var summary = Array.FindIndex(lines.ToArray(), l => l.Contains("MCP alerting on"));
        Assert.True(summary <= 1, $"the summary is the first entry:\n{text}");
        Assert.Contains("nothing is kept across restarts", text);

        // 200 servers that cannot be reached, probed every second, and one rule that fires for each of them.
        var http = api.Http;
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/rules", """{"id":"down","name":"Down","condition":"up == 0","channels":[]}""")).StatusCode);
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/servers",
                $$"""{"id":"s{{i}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","probe":{"interval":"1s","timeout":"500ms"} }""")).StatusCode));
        await Eventually.TrueAsync(async () => (await (await http.GetAsync("/api/alerts?status=firing&limit=1")).JsonAsync()).GetProperty("total").GetInt32() == 200,
            "every server's alert firing", TimeSpan.FromSeconds(60));
        var probes = await http.GetStringAsync("/metrics");
        Assert.Contains("mcp_alerting_probes_total{outcome=\"connection_refused\"}", probes);

        var stop = Stopwatch.StartNew();
        api.Process.Interrupt();
        try
        {
            await api.Process.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Ctrl-C did not stop the process in 20 s; its last lines:\n{api.Process.Tail()}");
        }
        stop.Stop();
        text = string.Join('\n', lines);
        Assert.Equal(0, api.Process.Process.ExitCode);
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(10), $"Ctrl-C took {stop.Elapsed}");
        // Hundreds of probes and 200 alert transitions: each transition is a line, the probes are not.
        var transitions = lines.Count(l => l.Contains("-> Firing"));
        Assert.InRange(transitions, 200, 400);
        var failure = text.IndexOf("fail:", StringComparison.Ordinal);
        Assert.True(failure < 0, failure < 0 ? "" : text[Math.Max(0, failure - 300)..Math.Min(text.Length, failure + 2500)]);
        Assert.DoesNotContain("crit:", text);
        Assert.DoesNotContain("Participant check thread", text);
        Assert.DoesNotContain("No XML encryptor", text);
        Assert.DoesNotContain("HttpClient", text);
        Assert.True(lines.Count < 1000, $"{lines.Count} lines for 200 servers");
    }
}
