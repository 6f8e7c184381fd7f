using System.Net;
using System.Text;
using Monitoring.Probing;
using Monitoring.Rules.Conditions;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>
/// Generated hostile input (seeded, so a failure replays): deep nesting, huge numbers, NaN and Infinity, unicode,
/// nulls and truncation, for the condition parser, the Prometheus text reader and telemetry JSON. Nothing may
/// throw past the parser's own error, and the API answers a 4xx problem, never a 5xx.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly string[] ConditionPieces =
    [
        "error_rate", "p95_response_time", "up", "cpu_usage", "data_age_seconds", " ", ">", "<", ">=", "<=", "==", "!=", "and", "or", "not",
        "(", ")", "0", "0.05", "-1", "1e309", "-1e309", "NaN", "Infinity", "1e-400", "999999999999999999999999999", "\0", "é", "😀", "\u202e",
        "\"", "'", ";", "{", "}", "[", "]", "%", "_", "..", "1..2", "\n", "\t",
    ];

    public static TheoryData<int> Seeds() => new(Enumerable.Range(1, 8));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_condition_parser_answers_every_input_with_a_condition_or_a_positioned_error(int seed)
    {
        var random = new Random(seed);
        var metrics = new Dictionary<string, double> { ["error_rate"] = double.NaN, ["p95_response_time"] = double.PositiveInfinity, ["up"] = 0 };
        var inputs = new List<string>
        {
            new string('(', 5000) + "up == 0" + new string(')', 5000),
            string.Concat(Enumerable.Repeat("not ", 2000)) + "up == 0",
            string.Join(" and ", Enumerable.Repeat("up == 0", 500)),
            "error_rate > 0.05 and (p95_response_time > 2 or up == 0)"[..random.Next(1, 50)],
        };
        for (var i = 0; i < 400; i++)
        {
            inputs.Add(string.Concat(Enumerable.Range(0, random.Next(1, 25)).Select(_ => ConditionPieces[random.Next(ConditionPieces.Length)])));
        }
        foreach (var input in inputs)
        {
            if (ConditionParser.TryParse(input, out var condition, out var error))
            {
                condition.Evaluate(metrics); // a parsed condition evaluates over NaN and Infinity without throwing
            }
            else
            {
                Assert.NotNull(error);
                Assert.InRange(error.Column, 0, input.Length + 2);
                Assert.False(string.IsNullOrWhiteSpace(error.Message));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_prometheus_reader_refuses_broken_text_with_the_line_and_nothing_else(int seed)
    {
        var random = new Random(seed);
        const string valid = """
            # HELP mcp_requests_total Total number of MCP requests
            # TYPE mcp_requests_total counter
            mcp_requests_total{method="tools/call",status="success"} 1027 1700000000000
            mcp_request_duration_seconds_bucket{le="0.1"} 3
            mcp_request_duration_seconds_bucket{le="+Inf"} 5
            mcp_cpu_usage_percent NaN
            mcp_memory_usage_bytes 1.5e+09
            """;
        var inputs = new List<string> { valid };
        for (var cut = 0; cut < valid.Length; cut += 3) inputs.Add(valid[..cut]); // every truncation
        string[] inserts = ["\0", "\"", "{", "}", "=", ",", "\\", "é", "😀", "1e309", "-Inf", "NaN", "\n", "#", " ", "le=\"", new string('9', 400)];
        for (var i = 0; i < 300; i++)
        {
            var at = random.Next(valid.Length);
            inputs.Add(valid[..at] + inserts[random.Next(inserts.Length)] + valid[at..]);
        }
        inputs.Add(string.Concat(Enumerable.Repeat("m{a=\"b\"} 1\n", 1000)));
        inputs.Add("m{" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"l{i}=\"v\",")) + "} 1");
        foreach (var input in inputs)
        {
            try
            {
                var samples = PrometheusText.Parse(input);
                Assert.All(samples, s => Assert.False(string.IsNullOrEmpty(s.Name)));
            }
            catch (PrometheusFormatException e)
            {
                Assert.Contains("line", e.Message);
            }
        }
    }

    [Collection(ApiCollection.Name)]
    public sealed class Telemetry(ApiFixture api)
    {
        [Fact]
        public async Task Hostile_telemetry_gets_a_4xx_problem_and_changes_nothing()
        {
            var id = "hostile-" + Guid.NewGuid().ToString("N")[..8];
            Assert.Equal(HttpStatusCode.Created, (await api.Http.PostJsonAsync("/api/servers",
                $$"""{"id":"{{id}}","name":"H","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""")).StatusCode);
            const string valid = """{"requests":[{"method":"tools/call","tool":"search","durationMs":120,"success":false}],"gauges":{"activeConnections":3,"cpuUsage":42.5,"memoryUsage":61.0}}""";
            var bodies = new List<string>
            {
                new string('[', 10_000),
                "{\"requests\":" + new string('[', 200) + new string(']', 200) + "}",
                """{"requests":[{"method":"tools/call","durationMs":1e309,"success":true}]}""",
                """{"requests":[{"method":"tools/call","durationMs":NaN,"success":true}]}""",
                """{"requests":[{"method":"tools/call","durationMs":"Infinity","success":true}]}""",
                """{"requests":[{"method":"tools/call","durationMs":-5,"success":true}]}""",
                """{"requests":[null]}""",
                """{"requests":null}""",
                "null",
                """{"requests":[{"method":"\u0000","durationMs":1,"success":true}]}""",
                """{"requests":[{"method":"tools/call","tool":"😀é\u202e","durationMs":1,"success":"yes"}]}""",
                """{"gauges":{"cpuUsage":1e400}}""",
                """{"requests":[{"method":"tools/call","durationMs":1,"success":true,"extra":1}]}""",
                "\uFEFF" + valid[..20],
            };
            for (var cut = 1; cut < valid.Length - 1; cut += 7) bodies.Add(valid[..cut]); // every kind of truncation
            var before = await (await api.Http.GetAsync($"/api/servers/{id}")).Content.ReadAsStringAsync();
            foreach (var body in bodies)
            {
                var response = await api.Http.PostAsync($"/api/servers/{id}/telemetry", new StringContent(body, Encoding.UTF8, "application/json"));
                var status = (int)response.StatusCode;
                Assert.True(status is >= 400 and < 500, $"{status} for {body[..Math.Min(body.Length, 80)]}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
            var after = await (await api.Http.GetAsync($"/api/servers/{id}")).JsonAsync();
            Assert.Equal(0, after.GetProperty("requestsInWindow").GetInt64());
            Assert.False(after.GetProperty("metrics").TryGetProperty("requests_per_second", out _), "nothing was recorded");
            Assert.Contains("\"metrics\"", before);
        }
    }
}
