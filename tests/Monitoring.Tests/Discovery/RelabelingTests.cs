using Monitoring.Discovery;

namespace Monitoring.Tests.Discovery;

/// <summary>Prometheus' relabeling on discovered servers' labels, table by table, with no cluster.</summary>
public sealed class RelabelingTests
{
    private static RelabelRule Rule(string action, string[] sources, string? target = null, string regex = "(.*)", string replacement = "$1", string separator = ";") =>
        new(action, sources, separator, regex, target, replacement);

    private static readonly Dictionary<string, string> Labels = new()
    {
        ["__meta_kubernetes_namespace"] = "shop",
        ["__meta_kubernetes_service_name"] = "cart",
        ["__meta_kubernetes_service_label_env"] = "prod",
        ["__meta_kubernetes_service_label_team_name"] = "checkout",
        ["app"] = "cart",
    };

    public static TheoryData<string, RelabelRule[], string?> Cases => new()
    {
        // name, rules, the labels after them without meta labels ("k=v,…"), or null when the server is dropped
        { "nothing", [], "app=cart" },
        { "replace with the defaults", [Rule("replace", ["__meta_kubernetes_namespace"], "namespace")], "app=cart,namespace=shop" },
        { "replace joins with the separator", [Rule("replace", ["__meta_kubernetes_namespace", "__meta_kubernetes_service_name"], "service", separator: "/")], "app=cart,service=shop/cart" },
        { "replace with groups", [Rule("replace", ["__meta_kubernetes_service_name"], "short", "(ca)(.*)", "$2-$1")], "app=cart,short=rt-ca" },
        { "replace that does not match changes nothing", [Rule("replace", ["app"], "app", "nope", "x")], "app=cart" },
        { "replace with an empty result removes the label", [Rule("replace", ["missing"], "app", "(.*)", "$1")], "" },
        { "the regex is anchored", [Rule("keep", ["app"], regex: "car")], null },
        { "keep that matches", [Rule("keep", ["__meta_kubernetes_service_label_env"], regex: "prod|staging")], "app=cart" },
        { "drop that matches", [Rule("drop", ["__meta_kubernetes_service_label_env"], regex: "prod")], null },
        { "drop of a missing label matches the empty string", [Rule("drop", ["absent"], regex: "")], null },
        { "labelmap", [Rule("labelmap", [], regex: "__meta_kubernetes_service_label_(.+)")], "app=cart,env=prod,team_name=checkout" },
        { "labeldrop", [Rule("labelmap", [], regex: "__meta_kubernetes_service_label_(.+)"), Rule("labeldrop", [], regex: "team_.*")], "app=cart,env=prod" },
        { "labelkeep keeps only what matches", [Rule("labelkeep", [], regex: "__.*")], "" },
        { "uppercase", [Rule("uppercase", ["app"], "shout")], "app=cart,shout=CART" },
        { "rules run in order", [Rule("replace", ["app"], "tier", "cart", "web"), Rule("drop", ["tier"], regex: "web")], null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rules_change_labels_as_Prometheus_does(string name, RelabelRule[] rules, string? expected)
    {
        var result = Relabeling.Apply(rules, Labels);
        if (expected is null)
        {
            Assert.True(result is null, name);
            return;
        }
        Assert.NotNull(result);
        var kept = Relabeling.Finish(result, "src");
        Assert.Equal("src", kept["discovery_source"]);
        kept.Remove("discovery_source");
        Assert.Equal(expected, string.Join(",", kept.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}")));
    }

    [Fact]
    public void Finished_labels_lose_meta_labels_and_invalid_names_and_are_bounded()
    {
        var many = Enumerable.Range(0, 100).ToDictionary(i => $"l{i:000}", i => new string('x', 2000));
        many["__endpoint__"] = "http://a";
        many["bad-name"] = "x";
        many["discovery_source"] = "spoofed";
        var kept = Relabeling.Finish(many, "src");
        Assert.Equal(64, kept.Count);
        Assert.Equal("src", kept["discovery_source"]);
        Assert.DoesNotContain("__endpoint__", kept.Keys);
        Assert.DoesNotContain("bad-name", kept.Keys);
        Assert.All(kept.Values, v => Assert.True(v.Length <= 1024));
    }

    [Fact]
    public void A_registry_source_s_relabeling_can_rewrite_the_endpoint_and_drop_entries()
    {
        var source = new DiscoverySource("corp", DiscoverySource.RegistryKind, "http://r", TimeSpan.FromMinutes(5), null, [], default)
        {
            Relabel =
            [
                Rule("drop", ["__meta_registry_name"], regex: "com\\.corp\\.internal.*"),
                Rule("replace", ["__endpoint__"], "__endpoint__", "https://public\\.corp/(.*)", "http://gateway.corp.svc/$1"),
                Rule("replace", ["__meta_registry_remote_type"], "transport"),
            ],
        };
        var changes = RegistryPlan.Plan(source,
        [
            new RegistryEntry("com.corp.weather", null, "active", [("streamable-http", "https://public.corp/weather/mcp")]),
            new RegistryEntry("com.corp.internal-admin", null, "active", [("streamable-http", "https://public.corp/admin/mcp")]),
        ], new Dictionary<string, string>(), full: true);
        var server = Assert.Single(changes.Wanted.Values);
        Assert.Equal("http://gateway.corp.svc/weather/mcp", server.Endpoint);
        Assert.Equal("streamable-http", server.Labels["transport"]);
        Assert.DoesNotContain(server.Labels.Keys, k => k.StartsWith("__"));
    }
}
