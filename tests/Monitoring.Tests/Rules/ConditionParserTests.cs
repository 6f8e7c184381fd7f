using Monitoring.Rules.Conditions;

namespace Monitoring.Tests.Rules;

public sealed class ConditionParserTests
{
    private static Dictionary<string, double> Metrics(double errorRate = 0, double rps = 0, double cpu = 0) => new()
    {
        [MetricNames.ErrorRate] = errorRate,
        [MetricNames.RequestsPerSecond] = rps,
        [MetricNames.CpuUsage] = cpu,
    };

    [Theory]
    [InlineData("error_rate > 0.05", 0.06, 0, 0, true)]
    [InlineData("error_rate > 0.05", 0.05, 0, 0, false)]
    [InlineData("error_rate >= 0.05", 0.05, 0, 0, true)]
    [InlineData("error_rate > 0.05 and requests_per_second >= 1", 0.1, 0.5, 0, false)]
    [InlineData("error_rate > 0.05 and requests_per_second >= 1", 0.1, 1, 0, true)]
    [InlineData("error_rate > 0.5 or cpu_usage > 80", 0, 0, 81, true)]
    [InlineData("not (cpu_usage < 80)", 0, 0, 80, true)]
    [InlineData("not cpu_usage < 80", 0, 0, 79, false)]
    [InlineData("cpu_usage == 42.5", 0, 0, 42.5, true)]
    [InlineData("cpu_usage != 42.5", 0, 0, 42.5, false)]
    [InlineData("cpu_usage <= 1e2", 0, 0, 100, true)]
    [InlineData("(error_rate > 0.5 or cpu_usage > 80) and requests_per_second > 0", 0, 0, 90, false)]
    [InlineData("error_rate > 0.5 or cpu_usage > 80 and requests_per_second > 0", 0.6, 0, 90, true)]
    [InlineData("0.05 < error_rate", 0.06, 0, 0, true)]
    [InlineData("cpu_usage > -1", 0, 0, 0, true)]
    public void Evaluates_valid_conditions(string text, double errorRate, double rps, double cpu, bool expected)
    {
        Assert.True(ConditionParser.TryParse(text, out var condition, out var error), error?.Message);
        Assert.Equal(expected, condition.Evaluate(Metrics(errorRate, rps, cpu)));
    }

    [Fact]
    public void And_binds_tighter_than_or()
    {
        Assert.True(ConditionParser.TryParse("error_rate > 0.5 or cpu_usage > 80 and requests_per_second > 0", out var condition, out _));
        var or = Assert.IsType<OrCondition>(condition);
        Assert.IsType<AndCondition>(or.Right);
    }

    [Fact]
    public void A_metric_without_a_value_is_unknown_never_true_or_false()
    {
        Assert.True(ConditionParser.TryParse("memory_usage > 0 or memory_usage <= 0 or memory_usage != 1", out var condition, out _));
        Assert.Null(condition.Evaluate(new Dictionary<string, double>()));
    }

    [Theory]
    [InlineData("error_rate > 0.5 or cpu_usage > 50", true)] // true or unknown
    [InlineData("error_rate > 0.9 or cpu_usage > 50", null)] // false or unknown
    [InlineData("error_rate > 0.9 and cpu_usage > 50", false)] // false and unknown
    [InlineData("error_rate > 0.5 and cpu_usage > 50", null)] // true and unknown
    [InlineData("not cpu_usage > 50", null)]
    [InlineData("not error_rate > 0.9", true)]
    [InlineData("data_age_seconds > 300 or cpu_usage > 50", true)]
    public void Unknown_follows_three_valued_logic(string text, bool? expected)
    {
        Assert.True(ConditionParser.TryParse(text, out var condition, out _));
        Assert.Equal(expected, condition.Evaluate(new Dictionary<string, double> { ["error_rate"] = 0.75, ["data_age_seconds"] = 301 }));
    }

    [Theory]
    [InlineData("error_rate > and", 14, "expected number or metric name")]
    [InlineData("error_rate 0.05", 12, "expected")]
    [InlineData("(error_rate > 0.05", 19, "expected `)`")]
    [InlineData("error_rate > 0.05)", 18, "unexpected `)`")]
    [InlineData("error_rate > 0.05 and", 22, "expected")]
    [InlineData("error_rate >> 1", 13, "unexpected")]
    [InlineData("error_rate > 0.05 # x", 19, "unexpected")]
    public void Invalid_syntax_gives_the_column_and_what_was_expected(string text, int column, string fragment)
    {
        Assert.False(ConditionParser.TryParse(text, out _, out var error));
        Assert.Equal(column, error!.Column);
        Assert.Contains(fragment, error.Message);
        Assert.Contains($"column {column}", error.Message);
    }

    [Fact]
    public void Unknown_metrics_are_named_with_their_position()
    {
        Assert.False(ConditionParser.TryParse("error_rate > 0.05 and latency > 1", out _, out var error));
        Assert.Equal(23, error!.Column);
        Assert.Contains("unknown metric 'latency'", error.Message);
        Assert.Contains("p95_response_time", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void An_empty_condition_is_refused(string? text)
    {
        Assert.False(ConditionParser.TryParse(text, out _, out var error));
        Assert.Contains("required", error!.Message);
    }

    [Fact]
    public void Deep_nesting_and_huge_input_are_refused_without_recursing()
    {
        var deep = new string('(', 10_000) + "error_rate > 1" + new string(')', 10_000);
        Assert.False(ConditionParser.TryParse(deep[..1000], out _, out var nested));
        Assert.Contains("nesting", nested!.Message);
        Assert.False(ConditionParser.TryParse(deep, out _, out var tooLong));
        Assert.Contains("longer than", tooLong!.Message);
        Assert.False(ConditionParser.TryParse(string.Concat(Enumerable.Repeat("not ", 40)) + "error_rate > 1", out _, out var nots));
        Assert.Contains("nesting", nots!.Message);
    }

    [Fact]
    public void Compiled_conditions_are_shared()
    {
        Assert.Same(ConditionParser.Compile("cpu_usage > 80"), ConditionParser.Compile("cpu_usage > 80"));
        Assert.Throws<FormatException>(() => ConditionParser.Compile("cpu_usage >"));
    }
}
