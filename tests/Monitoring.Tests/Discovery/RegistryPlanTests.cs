using Monitoring.Discovery;

namespace Monitoring.Tests.Discovery;

/// <summary>From registry entries to servers, with no cluster: ids, transports, filters, and what a full or a partial listing removes.</summary>
public sealed class RegistryPlanTests
{
    private static readonly DiscoverySource Source = new("corp", DiscoverySource.RegistryKind, "http://r", TimeSpan.FromMinutes(5), "^com\\.corp\\.", new() { ["team"] = "platform" }, default);

    private static RegistryEntry Entry(string name, string status = "active", params (string, string)[] remotes) => new(name, null, status, remotes);

    [Fact]
    public void Each_remote_of_an_active_matching_entry_is_a_server_and_nothing_else_is()
    {
        var changes = RegistryPlan.Plan(Source,
        [
            Entry("com.corp.weather", "active", ("streamable-http", "https://w.corp/mcp"), ("sse", "https://w.corp/sse"), ("stdio", "x")),
            Entry("com.corp.local"),
            Entry("org.other.notes", "active", ("streamable-http", "https://n.other/mcp")),
            Entry("com.corp.old", "deleted", ("streamable-http", "https://o.corp/mcp")),
            Entry("com.corp.odd", "active", ("streamable-http", "ftp://o.corp/mcp")),
        ], new Dictionary<string, string>(), full: true);
        Assert.Equal(["corp.com.corp.weather", "corp.com.corp.weather-2"], changes.Wanted.Keys.Order());
        var second = changes.Wanted["corp.com.corp.weather-2"];
        Assert.Equal("https://w.corp/sse", second.Endpoint);
        Assert.Equal(Monitoring.Servers.ProbeTransport.Sse, second.Probe.Transport);
        Assert.Equal(new Monitoring.Servers.ServerOrigin("corp", "com.corp.weather#1"), second.Origin);
        Assert.Equal("corp", second.Labels["discovery_source"]);
        Assert.Equal("platform", second.Labels["team"]);
        Assert.Empty(changes.Gone);
    }

    [Fact]
    public void A_full_listing_removes_what_is_not_in_it_and_a_listing_of_changes_only_what_it_names()
    {
        var known = new Dictionary<string, string> { ["corp.com.corp.a"] = "com.corp.a#0", ["corp.com.corp.b"] = "com.corp.b#0", ["corp.com.corp.b-2"] = "com.corp.b#1" };
        // b lost its second remote; a is not in the listing.
        (string, string)[] one = [("streamable-http", "https://b.corp/mcp")];
        var full = RegistryPlan.Plan(Source, [Entry("com.corp.b", "active", one)], known, full: true);
        Assert.Equal(["corp.com.corp.a", "corp.com.corp.b-2"], full.Gone);
        var partial = RegistryPlan.Plan(Source, [Entry("com.corp.b", "active", one)], known, full: false);
        Assert.Equal(["corp.com.corp.b-2"], partial.Gone); // a was not in the changes: it stays
        var deleted = RegistryPlan.Plan(Source, [Entry("com.corp.a", "deleted", ("streamable-http", "https://a.corp/mcp"))], known, full: false);
        Assert.Equal(["corp.com.corp.a"], deleted.Gone);
    }

    [Fact]
    public void A_name_an_id_cannot_hold_is_made_one_and_a_long_one_keeps_a_hash()
    {
        Assert.Equal("corp.io.github.user-weather_tool", RegistryPlan.IdOf("corp", "io.github.user/weather_tool", 0));
        var id = RegistryPlan.IdOf("corp", new string('n', 200), 0);
        Assert.True(Monitoring.Common.Ids.IsValid(id), id);
        Assert.NotEqual(id, RegistryPlan.IdOf("corp", new string('n', 199) + "m", 0));
    }
}
