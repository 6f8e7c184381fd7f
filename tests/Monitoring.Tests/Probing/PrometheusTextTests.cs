using System.Text;
using Monitoring.Probing;
using Prometheus;

namespace Monitoring.Tests.Probing;

public sealed class PrometheusTextTests
{
    [Fact]
    public async Task Reads_what_prometheus_net_writes()
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var requests = factory.CreateCounter("mcp_requests_total", "Total \"MCP\" requests", new CounterConfiguration { LabelNames = ["method", "status"] });
        var duration = factory.CreateHistogram("mcp_request_duration_seconds", "Duration", new HistogramConfiguration { Buckets = [0.1, 1] });
        var memory = factory.CreateGauge("mcp_memory_usage_bytes", "Memory");
        requests.WithLabels("tools/call", "success").Inc(7);
        requests.WithLabels("tools/\"odd\"\\name\n", "error").Inc(2);
        duration.Observe(0.05);
        duration.Observe(0.5);
        duration.Observe(3);
        memory.Set(1.5e9);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);

        var samples = PrometheusText.Parse(Encoding.UTF8.GetString(stream.ToArray()));

        Assert.Equal(7, samples.Single(s => s.Name == "mcp_requests_total" && s.Label("status") == "success").Value);
        var odd = samples.Single(s => s.Name == "mcp_requests_total" && s.Label("status") == "error");
        Assert.Equal("tools/\"odd\"\\name\n", odd.Label("method"));
        Assert.Equal(2, odd.Value);
        Assert.Equal(1, samples.Single(s => s.Name == "mcp_request_duration_seconds_bucket" && s.Label("le") == "0.1").Value);
        Assert.Equal(3, samples.Single(s => s.Name == "mcp_request_duration_seconds_bucket" && s.Label("le") == "+Inf").Value);
        Assert.Equal(3.55, samples.Single(s => s.Name == "mcp_request_duration_seconds_sum").Value, 9);
        Assert.Equal(1.5e9, samples.Single(s => s.Name == "mcp_memory_usage_bytes").Value);
    }

    [Fact]
    public void Reads_special_values_timestamps_blanks_and_trailing_commas()
    {
        var samples = PrometheusText.Parse(
            "# a comment\r\n\n  # TYPE x gauge\nx NaN\ny{a=\"1\",} +Inf 1700000000000\nz\t-Inf\nw{ a = \"b\" } 1.5e-3\n# EOF\n");

        Assert.True(double.IsNaN(samples[0].Value));
        Assert.Equal(double.PositiveInfinity, samples[1].Value);
        Assert.Equal("1", samples[1].Label("a"));
        Assert.Equal(double.NegativeInfinity, samples[2].Value);
        Assert.Equal(0.0015, samples[3].Value);
        Assert.Equal("b", samples[3].Label("a"));
    }

    [Theory]
    [InlineData("x{a=\"1\" 5", 1, "expected ','")]
    [InlineData("ok 1\nx{a=1} 5", 2, "quoted value")]
    [InlineData("x 1\ny 2\nz{a=\"\\q\"} 1", 3, "escape")]
    [InlineData("x abc", 1, "not a sample value")]
    [InlineData("x", 1, "expected a space")]
    [InlineData("{a=\"b\"} 1", 1, "metric name")]
    [InlineData("x 1 soon", 1, "timestamp")]
    [InlineData("x{a=\"b\"}5", 1, "expected a space")]
    [InlineData("x{=\"b\"} 5", 1, "label name")]
    [InlineData("x{a=\"unterminated} 5", 1, "not closed")]
    [InlineData("x 1e999", 1, "not a sample value")]
    [InlineData("<html><body>nope</body></html>", 1, "metric name")]
    public void Refuses_malformed_input_naming_the_line(string text, int line, string because)
    {
        var error = Assert.Throws<PrometheusFormatException>(() => PrometheusText.Parse(text));

        Assert.Equal(line, error.Line);
        Assert.Contains(because, error.Message);
    }

    [Fact]
    public void Refuses_too_many_samples_and_overlong_lines()
    {
        var many = string.Join("\n", Enumerable.Range(0, 11).Select(i => $"m{i} 1"));
        Assert.Contains("more than 10 samples", Assert.Throws<PrometheusFormatException>(() => PrometheusText.Parse(many, maxSamples: 10)).Message);

        var longLine = "x{a=\"" + new string('y', PrometheusText.MaxLineLength) + "\"} 1";
        Assert.Contains("characters long", Assert.Throws<PrometheusFormatException>(() => PrometheusText.Parse(longLine)).Message);
    }
}
