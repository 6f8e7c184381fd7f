using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Discovery;
using Monitoring.Servers;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Discovery;

/// <summary>From Kubernetes objects to servers, and from a watch's batches to changes, with no cluster.</summary>
public sealed class KubernetesTargetsTests
{
    private static DiscoverySource Source(string role) => new("k", DiscoverySource.KubernetesKind, "", TimeSpan.FromMinutes(5), null, new() { ["env"] = "prod" }, default) { Role = role };

    private static JsonElement Json(JsonObject o) => JsonDocument.Parse(o.ToJsonString()).RootElement.Clone();

    private static readonly Dictionary<string, string> Probe = new() { ["mcp-alerting.io/probe"] = "true" };

    public static TheoryData<string, string, JsonObject, string?> Objects => new()
    {
        // name, role, object, the endpoint it yields ("" for none, null for not ready yet)
        { "a verified lifecycle server", DiscoverySource.LifecycleRole, StandInKubernetes.LifecycleServer("a", "w", "http://w.a.svc.cluster.local:8080/mcp", true), "http://w.a.svc.cluster.local:8080/mcp" },
        { "an unverified lifecycle server", DiscoverySource.LifecycleRole, StandInKubernetes.LifecycleServer("a", "w", "http://w.a.svc:8080/mcp", false), null },
        { "a ready ToolHive server", DiscoverySource.ToolHiveRole, StandInKubernetes.ToolHiveServer("a", "n", "http://mcp-n-proxy.a.svc:8080/mcp", "Ready", "streamable-http"), "http://mcp-n-proxy.a.svc:8080/mcp" },
        { "a ToolHive server Running (before v1beta1)", DiscoverySource.ToolHiveRole, StandInKubernetes.ToolHiveServer("a", "n", "http://n:8080/mcp", "Running", "sse"), "http://n:8080/mcp" },
        { "a failed ToolHive server", DiscoverySource.ToolHiveRole, StandInKubernetes.ToolHiveServer("a", "n", "http://n:8080/mcp", "Failed", "sse"), null },
        { "an annotated service", DiscoverySource.ServiceRole, StandInKubernetes.Service("a", "s", 8080, Probe), "http://s.a.svc:8080/mcp" },
        { "a service not annotated", DiscoverySource.ServiceRole, StandInKubernetes.Service("a", "s", 8080, null), "" },
        { "a service annotated false", DiscoverySource.ServiceRole, StandInKubernetes.Service("a", "s", 8080, new() { ["mcp-alerting.io/probe"] = "false" }), "" },
        { "a ready annotated pod", DiscoverySource.PodRole, StandInKubernetes.Pod("a", "p", "10.0.0.3", true, Probe), "http://10.0.0.3:3000/mcp" },
        { "an annotated pod not ready", DiscoverySource.PodRole, StandInKubernetes.Pod("a", "p", "10.0.0.3", false, Probe), null },
        { "a pod on IPv6 with a scheme and path", DiscoverySource.PodRole,
            StandInKubernetes.Pod("a", "p", "fd00::3", true, new() { ["mcp-alerting.io/probe"] = "true", ["mcp-alerting.io/scheme"] = "https", ["mcp-alerting.io/path"] = "rpc" }), "https://[fd00::3]:3000/rpc" },
    };

    [Theory]
    [MemberData(nameof(Objects))]
    public void Each_role_reads_its_endpoint_once_the_object_is_ready(string name, string role, JsonObject item, string? endpoint)
    {
        var read = KubernetesTargets.Read(Source(role), Json(item));
        Assert.Equal($"{item["metadata"]!["namespace"]}/{item["metadata"]!["name"]}", read.Ref);
        if (endpoint is null)
        {
            Assert.True(read.Servers is null, name);
            return;
        }
        if (endpoint.Length == 0)
        {
            Assert.True(read.Servers is { Length: 0 }, name);
            return;
        }
        var server = Assert.Single(read.Servers!);
        Assert.Equal(endpoint, server.Endpoint);
        Assert.Equal("prod", server.Labels["env"]);
        Assert.Equal("a", server.Labels["namespace"]);
        Assert.Equal("k", server.Origin!.Source);
    }

    [Fact]
    public void Kubernetes_labels_become_label_names_and_the_source_s_labels_win()
    {
        var item = StandInKubernetes.LifecycleServer("a", "w", "http://w:1/mcp", true, new() { ["app.kubernetes.io/name"] = "weather", ["env"] = "dev" });
        var server = Assert.Single(KubernetesTargets.Read(Source(DiscoverySource.LifecycleRole), Json(item)).Servers!);
        Assert.Equal("weather", server.Labels["app_kubernetes_io_name"]);
        Assert.Equal("prod", server.Labels["env"]);
        Assert.Equal("w-server", server.Name);
        Assert.Equal("k.a.w", server.Id);
        Assert.Equal(ProbeTransport.StreamableHttp, server.Probe.Transport);
    }

    private static WatchedObject Obj(string reference, params string[] ids) =>
        new(reference, [.. ids.Select(id => new McpServer(id, id, "http://x/mcp", [], true, default, default) { Origin = new ServerOrigin("k", $"pod/{reference}") })]);

    public static TheoryData<string, WatchBatch, string, string> Batches => new()
    {
        // name, batch, wanted ids, gone ids; known: k.a.p1 (a/p1), k.a.p2 (a/p2), k.b.p3 (b/p3)
        { "a listing of one namespace removes what it lacks there only", new WatchBatch("a", true, [Obj("a/p1", "k.a.p1")], null, 1), "k.a.p1", "k.a.p2" },
        { "a listing of all namespaces removes everything it lacks", new WatchBatch("", true, [Obj("a/p1", "k.a.p1")], null, 1), "k.a.p1", "k.a.p2,k.b.p3" },
        { "an object not ready keeps its server", new WatchBatch("", true, [new WatchedObject("a/p1", null), Obj("a/p2", "k.a.p2"), Obj("b/p3", "k.b.p3")], null, 1), "k.a.p2,k.b.p3", "" },
        { "a deleted object's server goes", new WatchBatch("", false, [new WatchedObject("a/p2", [])], null, 1), "", "k.a.p2" },
        { "events leave other objects alone", new WatchBatch("", false, [Obj("c/p4", "k.c.p4")], null, 1), "k.c.p4", "" },
        { "the last event for an object wins", new WatchBatch("", false, [new WatchedObject("a/p1", []), Obj("a/p1", "k.a.p1")], null, 1), "k.a.p1", "" },
    };

    [Theory]
    [MemberData(nameof(Batches))]
    public void A_batch_changes_what_its_objects_say(string name, WatchBatch batch, string wanted, string gone)
    {
        var known = new Dictionary<string, string> { ["k.a.p1"] = "pod/a/p1", ["k.a.p2"] = "pod/a/p2", ["k.b.p3"] = "pod/b/p3" };
        var changes = KubernetesPlan.Plan(batch, known);
        Assert.True(wanted == string.Join(",", changes.Wanted.Keys.Order(StringComparer.Ordinal)), $"{name}: wanted {string.Join(",", changes.Wanted.Keys)}");
        Assert.True(gone == string.Join(",", changes.Gone), $"{name}: gone {string.Join(",", changes.Gone)}");
    }
}
