using Monitoring.Common;

namespace Monitoring.Tests.Rules;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("0s", 0)]
    [InlineData("0", 0)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1d", 86400)]
    [InlineData("1w", 604800)]
    [InlineData("1500ms", 1.5)]
    public void Parses_prometheus_durations(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("-5m", "negative")]
    [InlineData("5 minutes", "not a duration")]
    [InlineData("5", "not a duration")]
    [InlineData("m5", "not a duration")]
    [InlineData("1m1h", "not a duration")]
    [InlineData("", "required")]
    [InlineData("99999999999999y", "too long")]
    public void Refuses_bad_durations(string text, string fragment)
    {
        Assert.False(Durations.TryParse(text, out _, out var error));
        Assert.Contains(fragment, error);
    }

    [Theory]
    [InlineData(5400, "1h30m")]
    [InlineData(0, "0s")]
    [InlineData(1.5, "1s500ms")]
    public void Formats_round_trip(double seconds, string text)
    {
        Assert.Equal(text, Durations.Format(TimeSpan.FromSeconds(seconds)));
        Assert.True(Durations.TryParse(text, out var back, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), back);
    }
}
