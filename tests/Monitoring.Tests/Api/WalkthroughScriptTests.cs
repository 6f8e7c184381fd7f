using System.Diagnostics;
using System.Text.RegularExpressions;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Api;

/// <summary>
/// The README's walkthrough, run as written: every shell block of the section, in order, with bash and curl, against
/// the product started as a process (the embedded mode, as `dotnet run --project src/Api` starts it) and a receiver
/// for the webhooks. Only the two addresses change (free ports instead of 5080 and 9000). A block marked
/// <c>&lt;!-- walkthrough: not run --&gt;</c> starts something the test provides itself; <c>expect 400</c> means every
/// request of the block must be refused; <c>wait for /path</c> waits until the receiver has heard on that path.
/// </summary>
public sealed partial class WalkthroughScriptTests
{
    [GeneratedRegex(@"(?:<!-- walkthrough: (?<directive>[^>]*?) -->\s*\n)?```sh\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Block();

    [Fact]
    public async Task Every_command_of_the_readme_walkthrough_works_in_the_order_written()
    {
        var readme = await File.ReadAllTextAsync(Repository.PathTo("README.md"));
        var start = readme.IndexOf("## Walkthrough", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var blocks = Block().Matches(readme[start..end]).Select(m => (Directive: m.Groups["directive"].Value, Code: m.Groups["code"].Value)).ToList();
        Assert.True(blocks.Count >= 8, $"found {blocks.Count} blocks in the walkthrough");

        await using var hooks = await WebhookReceiver.StartAsync();
        await using var api = await EmbeddedApiProcess.StartAsync();
        var apiBase = api.Http.BaseAddress!.ToString().TrimEnd('/');
        var codes = Path.GetTempFileName();
        try
        {
            foreach (var (directive, code) in blocks)
            {
                if (directive == "not run") continue;
                if (directive.StartsWith("wait for ", StringComparison.Ordinal))
                {
                    await hooks.WaitForAsync(directive["wait for ".Length..], 1, TimeSpan.FromSeconds(30));
                }
                await File.WriteAllTextAsync(codes, "");
                var script = code.Replace("http://127.0.0.1:5080", apiBase).Replace("http://127.0.0.1:9000", hooks.BaseUrl.TrimEnd('/'));
                var (exit, output) = await RunAsync(script, codes);
                Assert.True(exit == 0, $"the block failed ({exit}):\n{code}\n{output}");
                var statuses = (await File.ReadAllLinesAsync(codes)).Where(l => l.Length > 0).Select(int.Parse).ToArray();
                Assert.NotEmpty(statuses);
                var wanted = directive == "expect 400" ? new[] { 400 } : null;
                Assert.True(statuses.All(s => wanted?.Contains(s) ?? s is >= 200 and < 300),
                    $"answered {string.Join(", ", statuses)} for:\n{code}\n{output}");
            }
        }
        finally
        {
            File.Delete(codes);
        }

        // What the receiver heard, in the walkthrough's order: the first episode fired and resolved, the second
        // escalated from ops to the lead; the silence and the example rules sent nothing more.
        string Kind(ReceivedHook h) => h.Body.GetProperty("context").GetProperty("notification").GetString()!;
        Assert.Equal(["firing", "resolved", "escalation"], hooks.At("/ops").Select(Kind));
        Assert.Equal(["escalation"], hooks.At("/lead").Select(Kind));
        Assert.Equal("escalated", hooks.At("/lead")[0].Body.GetProperty("alert").GetProperty("status").GetString());
        // The fleet's two breaches were one incident: one message listing both.
        var fleet = Assert.Single(hooks.At("/fleet"));
        Assert.Equal(2, fleet.Body.GetProperty("incident").GetProperty("firing").GetInt32());

        // curl pinged the heartbeat by GET (/start) and by POST (the success, its body kept as the log).
        var beat = await (await api.Http.GetAsync("/api/heartbeats/nightly-backup")).JsonAsync();
        Assert.Equal("up", beat.GetProperty("status").GetString());
        Assert.Equal("backed up", beat.GetProperty("lastPing").GetProperty("log").GetString());
        Assert.Equal(["start", "success"], beat.GetProperty("pings").EnumerateArray().Select(p => p.GetProperty("kind").GetString()).Order());

        // The walkthrough ends quiet: its last step removed the servers, and no alert is left open to page later.
        var alerts = await (await api.Http.GetAsync("/api/alerts?limit=500")).JsonAsync();
        var open = alerts.GetProperty("items").EnumerateArray()
            .Where(a => a.GetProperty("status").GetString() is not ("resolved" or "inactive"))
            .Select(a => $"{a.GetProperty("id").GetString()} {a.GetProperty("status").GetString()}").ToArray();
        Assert.True(open.Length == 0, $"left open: {string.Join(", ", open)}");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string script, string codes)
    {
        // curl as the README runs it, recording each answer's status for the test.
        const string prelude = """
            curl() { local out; out=$(command curl -sS -w '\n%{http_code}' "$@") || return 1; echo "${out##*$'\n'}" >> "$CODES"; printf '%s\n' "${out%$'\n'*}"; }
            set -e
            """;
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root };
        start.Environment["CODES"] = codes;
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(prelude + "\n" + script);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }
}
