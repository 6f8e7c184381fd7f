using Microsoft.Extensions.Configuration;
using Monitoring.Hosting.Cluster;

namespace Monitoring.Tests.Cluster;

/// <summary>Production settings are checked at start, and every problem is named.</summary>
public sealed class ClusterSettingsTests
{
    private static (ClusterSettings? Settings, List<string> Errors) Read(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
        var errors = new List<string>();
        return (ClusterSettings.Read(configuration, errors), errors);
    }

    [Fact]
    public void Good_settings_are_read_with_the_tuned_defaults()
    {
        var (settings, errors) = Read(("ConnectionStrings:Redis", "127.0.0.1:6390"), ("ConnectionStrings:Postgres", "Host=127.0.0.1;Port=5440;Username=postgres"),
            ("Orleans:ClusterId", "prod"), ("Orleans:AdvertisedIP", "10.0.0.7"));
        Assert.Empty(errors);
        Assert.Equal("prod", settings!.ClusterId);
        Assert.Equal("mcp_alerting", settings.Schema);
        Assert.Equal(System.Net.IPAddress.Parse("10.0.0.7"), settings.AdvertisedIp);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ProbeTimeout);
        Assert.Equal(2, settings.MissedProbesLimit);
    }

    [Fact]
    public void Every_problem_is_named_at_once()
    {
        var (settings, errors) = Read(("ConnectionStrings:Postgres", "Host=127.0.0.1;Bogus Key=1"), ("Orleans:SiloPort", "70000"),
            ("Orleans:AdvertisedIP", "pod-ip"), ("Postgres:Schema", "Robert'); DROP TABLE"), ("Orleans:ProbeTimeout", "soon"), ("Orleans:ClusterId", " "));
        Assert.Null(settings);
        Assert.Collection(errors,
            e => Assert.StartsWith("ConnectionStrings:Redis is required", e),
            e => Assert.StartsWith("ConnectionStrings:Postgres is not a PostgreSQL connection string", e),
            e => Assert.StartsWith("Postgres:Schema 'Robert'); DROP TABLE' must be a lower-case SQL name", e),
            e => Assert.Equal("Orleans:ClusterId must not be empty", e),
            e => Assert.Equal("Orleans:SiloPort '70000' must be a port, 1..65535", e),
            e => Assert.StartsWith("Orleans:AdvertisedIP 'pod-ip' is not an IP address", e),
            e => Assert.StartsWith("Orleans:ProbeTimeout 'soon' must be a time span", e));
    }

    [Fact]
    public void Production_is_chosen_by_a_connection_string()
    {
        Assert.False(ClusterSettings.IsConfigured(new ConfigurationBuilder().Build()));
        Assert.True(ClusterSettings.IsConfigured(new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create("ConnectionStrings:Redis", (string?)"127.0.0.1:6379")]).Build()));
    }
}
