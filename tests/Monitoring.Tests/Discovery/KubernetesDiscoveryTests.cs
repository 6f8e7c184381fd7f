using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Discovery;

/// <summary>
/// Servers discovered from Kubernetes, against a stand-in API server speaking the list-and-watch protocol (no API
/// server can run here): the two operators' MCPServer resources, annotated services and pods; namespaces, label
/// selectors and relabeling; a watch that resumes from a bookmark after a dropped connection, lists again after a 410
/// Gone, and follows objects that stop matching. Everything is checked through the product's API.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class KubernetesDiscoveryTests(ApiFixture api)
{
    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static async Task CreateAsync(ApiScenario s, string body)
    {
        var created = await s.Http.PostJsonAsync("/api/discovery/sources", body);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement?> ServerAsync(ApiScenario s, string id)
    {
        var response = await s.Http.GetAsync($"/api/servers/{id}");
        return response.StatusCode == HttpStatusCode.OK ? await response.JsonAsync() : null;
    }

    private static Task ServerAppearsAsync(ApiScenario s, string id) =>
        Eventually.TrueAsync(async () => await ServerAsync(s, id) is not null, $"server {id} to be registered");

    private static Task ServerLeavesAsync(ApiScenario s, string id) =>
        Eventually.TrueAsync(async () => await ServerAsync(s, id) is null, $"server {id} to be deregistered");

    private static async Task<JsonElement> SourceAsync(ApiScenario s, string source) => await (await s.Http.GetAsync($"/api/discovery/sources/{source}")).JsonAsync();

    [Fact]
    public async Task The_operators_MCPServers_become_servers_once_verified_or_ready_and_leave_when_deleted()
    {
        var s = new ApiScenario(api);
        await using var kube = await StandInKubernetes.StartAsync();
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("team-a", "weather", "http://127.0.0.1:9/weather/mcp", verified: true,
            Map(("app.kubernetes.io/name", "weather"), ("team", "forecasting"))));
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("team-a", "maps", "http://127.0.0.1:9/maps/mcp", verified: false));
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("team-b", "other", "http://127.0.0.1:9/other/mcp", verified: true));
        var lifecycle = $"k{s.Id}";
        await CreateAsync(s, $$"""
            {"id":"{{lifecycle}}","kind":"kubernetes","role":"mcpserver","url":"{{kube.BaseUrl}}","namespaces":["team-a"],"labels":{"env":"prod"},
             "relabel":[{"sourceLabels":["__meta_kubernetes_mcpserver_label_team"],"targetLabel":"owner"},{"action":"labeldrop","regex":"app_kubernetes_io_.*"}]}
            """);
        var weatherId = $"{lifecycle}.team-a.weather";
        await ServerAppearsAsync(s, weatherId);
        var weather = (await ServerAsync(s, weatherId))!.Value;
        Assert.Equal("http://127.0.0.1:9/weather/mcp", weather.GetProperty("endpoint").GetString());
        Assert.Equal("weather-server", weather.GetProperty("name").GetString()); // status.serverInfo.name
        var labels = weather.GetProperty("labels");
        Assert.Equal("forecasting", labels.GetProperty("owner").GetString());
        Assert.Equal("forecasting", labels.GetProperty("team").GetString());
        Assert.Equal("team-a", labels.GetProperty("namespace").GetString());
        Assert.Equal("prod", labels.GetProperty("env").GetString());
        Assert.Equal(lifecycle, labels.GetProperty("discovery_source").GetString());
        Assert.False(labels.TryGetProperty("app_kubernetes_io_name", out _)); // dropped by its rule
        Assert.Equal("mcpserver/team-a/weather", weather.GetProperty("discovered").GetProperty("ref").GetString());
        Assert.Null(await ServerAsync(s, $"{lifecycle}.team-a.maps")); // not verified: no address yet
        Assert.Null(await ServerAsync(s, $"{lifecycle}.team-b.other")); // another namespace
        Assert.Contains(kube.Requests, r => r.StartsWith("/apis/mcp.x-k8s.io/v1beta1/namespaces/team-a/mcpservers?") && r.Contains("watch=true") && r.Contains("allowWatchBookmarks=true"));

        // Verified later: the watch event is reflected in the API.
        var clock = Stopwatch.StartNew();
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("team-a", "maps", "http://127.0.0.1:9/maps/mcp", verified: true));
        await ServerAppearsAsync(s, $"{lifecycle}.team-a.maps");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"a watch event took {clock.Elapsed} to reach the API");

        // An alert on the weather server; its resource is deleted: the server goes and the alert resolves as deregistered.
        var rule = await s.Http.PostJsonAsync("/api/rules", $$"""{"id":"{{s.RuleId}}","name":"Errors","condition":"error_rate > 0.05","cooldown":"0s","selector":{"discovery_source":"{{lifecycle}}"},"channels":[]}""");
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        await s.FireAsync(weatherId);
        var alertId = s.AlertIdFor(weatherId);
        await Eventually.TrueAsync(async () => (await s.AlertAsync(alertId)).GetProperty("status").GetString() == "firing", "the alert to fire");
        // No longer verified: the server stays (it is what should page), with the address it had.
        kube.Put(StandInKubernetes.Lifecycle, StandInKubernetes.LifecycleServer("team-a", "weather", "http://127.0.0.1:9/weather/mcp", verified: false));
        kube.Delete(StandInKubernetes.Lifecycle, "team-a", "maps");
        await ServerLeavesAsync(s, $"{lifecycle}.team-a.maps");
        Assert.NotNull(await ServerAsync(s, weatherId));
        kube.Delete(StandInKubernetes.Lifecycle, "team-a", "weather");
        await ServerLeavesAsync(s, weatherId);
        var alert = await s.AlertAsync(alertId);
        Assert.Equal("resolved", alert.GetProperty("status").GetString());
        Assert.Contains("deregistered", alert.GetProperty("transitions").EnumerateArray().Last().GetProperty("reason").GetString());

        // ToolHive: Ready with its proxy's URL; the stdio server is served over SSE by its proxy; Pending is left until Ready.
        var toolhive = $"t{s.Id}";
        kube.Put(StandInKubernetes.ToolHive, StandInKubernetes.ToolHiveServer("tools", "notes", "http://127.0.0.1:9/notes/sse", "Ready", "stdio"));
        kube.Put(StandInKubernetes.ToolHive, StandInKubernetes.ToolHiveServer("tools", "fetch", "http://127.0.0.1:9/fetch/mcp", "Pending", "streamable-http"));
        await CreateAsync(s, $$"""{"id":"{{toolhive}}","kind":"kubernetes","role":"toolhive","url":"{{kube.BaseUrl}}"}""");
        await ServerAppearsAsync(s, $"{toolhive}.tools.notes");
        Assert.Equal("sse", (await ServerAsync(s, $"{toolhive}.tools.notes"))!.Value.GetProperty("probe").GetProperty("transport").GetString());
        Assert.Null(await ServerAsync(s, $"{toolhive}.tools.fetch"));
        kube.Put(StandInKubernetes.ToolHive, StandInKubernetes.ToolHiveServer("tools", "fetch", "http://127.0.0.1:9/fetch/mcp", "Ready", "streamable-http"));
        await ServerAppearsAsync(s, $"{toolhive}.tools.fetch");
        Assert.Equal("streamable-http", (await ServerAsync(s, $"{toolhive}.tools.fetch"))!.Value.GetProperty("probe").GetProperty("transport").GetString());
        Assert.Contains(kube.Requests, r => r.StartsWith("/apis/toolhive.stacklok.dev/v1beta1/mcpservers?")); // all namespaces

        // Deleting the source deregisters what it found.
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/discovery/sources/{toolhive}")).StatusCode);
        Assert.Null(await ServerAsync(s, $"{toolhive}.tools.notes"));
        await Eventually.TrueAsync(() => kube.OpenWatches <= 1, "the deleted source's watch to stop");
    }

    [Fact]
    public async Task A_watch_resumes_from_its_bookmark_lists_again_after_410_Gone_and_follows_pods_that_stop_matching()
    {
        var s = new ApiScenario(api);
        await using var kube = await StandInKubernetes.StartAsync();
        var annotated = Map(("mcp-alerting.io/probe", "true"), ("mcp-alerting.io/path", "/rpc"));
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "tools-1", "10.244.1.7", ready: true, annotated, Map(("tier", "mcp"))));
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "plain-1", "10.244.1.8", ready: true, null, Map(("tier", "mcp")))); // not annotated
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "web-1", "10.244.1.9", ready: true, annotated, Map(("tier", "web")))); // not selected
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "tools-2", "10.244.1.10", ready: false, annotated, Map(("tier", "mcp")))); // not ready yet
        var source = $"p{s.Id}";
        await CreateAsync(s, $$"""{"id":"{{source}}","kind":"kubernetes","role":"pod","url":"{{kube.BaseUrl}}","namespaces":["apps"],"labelSelector":"tier=mcp"}""");
        await ServerAppearsAsync(s, $"{source}.apps.tools-1");
        Assert.Equal("http://10.244.1.7:3000/rpc", (await ServerAsync(s, $"{source}.apps.tools-1"))!.Value.GetProperty("endpoint").GetString());
        Assert.Null(await ServerAsync(s, $"{source}.apps.plain-1"));
        Assert.Null(await ServerAsync(s, $"{source}.apps.web-1"));
        Assert.Null(await ServerAsync(s, $"{source}.apps.tools-2"));
        Assert.Contains(kube.Requests, r => r.Contains("labelSelector=tier%3Dmcp") && !r.Contains("watch="));
        await Eventually.TrueAsync(() => kube.OpenWatches == 1, "the watch to open");

        // A bookmark moves the watch's version; the connection drops; the watch resumes from the bookmark, not a relist.
        var bookmark = kube.Bookmark(); // written before the drop ends the stream, so the watch reads it first
        var lists = kube.Requests.Count(r => !r.Contains("watch="));
        kube.DropWatches();
        await Eventually.TrueAsync(() => kube.Requests.Any(r => r.Contains("watch=true") && r.Contains($"resourceVersion={bookmark}")), "the watch to resume from the bookmark");
        Assert.Equal(lists, kube.Requests.Count(r => !r.Contains("watch=")));
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "tools-2", "10.244.1.10", ready: true, annotated, Map(("tier", "mcp"))));
        await ServerAppearsAsync(s, $"{source}.apps.tools-2");

        // The history is compacted and a deletion is never seen as an event: the resumed watch gets 410 Gone, lists
        // again, and the listing no longer has the pod.
        await Eventually.TrueAsync(() => kube.OpenWatches == 1, "the watch to be open again");
        kube.ForgetUnseen(StandInKubernetes.Pods, "apps", "tools-1");
        kube.Compact();
        kube.DropWatches();
        await ServerLeavesAsync(s, $"{source}.apps.tools-1");
        Assert.True(kube.Requests.Count(r => !r.Contains("watch=")) > lists, "a 410 lists again");
        Assert.NotNull(await ServerAsync(s, $"{source}.apps.tools-2"));

        // Again, with the 410 as the watch request's answer rather than an event in its stream.
        await Eventually.TrueAsync(() => kube.OpenWatches == 1, "the watch to be open after the relist");
        var relists = kube.Requests.Count(r => !r.Contains("watch="));
        kube.GoneAsStatus = true;
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "tools-3", "10.244.1.11", ready: true, annotated, Map(("tier", "mcp"))));
        await ServerAppearsAsync(s, $"{source}.apps.tools-3");
        kube.ForgetUnseen(StandInKubernetes.Pods, "apps", "tools-3");
        kube.Compact();
        kube.DropWatches();
        await ServerLeavesAsync(s, $"{source}.apps.tools-3");
        Assert.True(kube.Requests.Count(r => !r.Contains("watch=")) > relists, "a 410 answer lists again");
        kube.GoneAsStatus = false;

        // A pod relabelled out of the selector is a DELETED event for this watch.
        await Eventually.TrueAsync(() => kube.OpenWatches == 1, "the watch to be open after the relist");
        kube.Put(StandInKubernetes.Pods, StandInKubernetes.Pod("apps", "tools-2", "10.244.1.10", ready: true, annotated, Map(("tier", "retired"))));
        await ServerLeavesAsync(s, $"{source}.apps.tools-2");
        var status = (await SourceAsync(s, source)).GetProperty("status");
        Assert.Equal(0, status.GetProperty("failures").GetInt32());
    }

    [Fact]
    public async Task Annotated_services_are_found_at_their_annotated_port_and_path_relabeling_drops_some_and_hand_servers_stay()
    {
        var s = new ApiScenario(api);
        await using var kube = await StandInKubernetes.StartAsync();
        var source = $"v{s.Id}";
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "catalog", 8080,
            Map(("mcp-alerting.io/probe", "true"), ("mcp-alerting.io/port", "9000"), ("mcp-alerting.io/path", "/v1/mcp")), Map(("env", "prod"))));
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "cart", 8081, Map(("mcp-alerting.io/probe", "true")), Map(("env", "prod"))));
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "sandbox", 8082, Map(("mcp-alerting.io/probe", "true")), Map(("env", "dev"))));
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "db", 5432, null));
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "mine", 8083, Map(("mcp-alerting.io/probe", "true"))));
        var hand = await s.Http.PostJsonAsync("/api/servers", $$"""{"id":"{{source}}.shop.mine","name":"Mine","endpoint":"http://127.0.0.1:9/mine","probe":{"enabled":false} }""");
        Assert.Equal(HttpStatusCode.Created, hand.StatusCode);

        await CreateAsync(s, $$"""
            {"id":"{{source}}","kind":"kubernetes","role":"service","url":"{{kube.BaseUrl}}",
             "relabel":[{"action":"drop","sourceLabels":["__meta_kubernetes_service_label_env"],"regex":"dev"},
                        {"sourceLabels":["__meta_kubernetes_namespace","__meta_kubernetes_service_name"],"separator":"/","targetLabel":"service"}]}
            """);
        await ServerAppearsAsync(s, $"{source}.shop.catalog");
        await ServerAppearsAsync(s, $"{source}.shop.cart");
        var catalog = (await ServerAsync(s, $"{source}.shop.catalog"))!.Value;
        Assert.Equal("http://catalog.shop.svc:9000/v1/mcp", catalog.GetProperty("endpoint").GetString());
        Assert.Equal("shop/catalog", catalog.GetProperty("labels").GetProperty("service").GetString());
        Assert.Equal("http://cart.shop.svc:8081/mcp", (await ServerAsync(s, $"{source}.shop.cart"))!.Value.GetProperty("endpoint").GetString());
        Assert.Null(await ServerAsync(s, $"{source}.shop.sandbox")); // dropped by relabeling
        Assert.Null(await ServerAsync(s, $"{source}.shop.db")); // not annotated
        Assert.Equal("Mine", (await ServerAsync(s, $"{source}.shop.mine"))!.Value.GetProperty("name").GetString());
        await Eventually.TrueAsync(async () => (await SourceAsync(s, source)).GetProperty("status").GetProperty("skipped").EnumerateArray()
            .Any(k => k.GetString()!.Contains("a server registered by hand has this id")), "the hand server to be reported as left alone");

        // The console lists the source with what it found, and a discovered server's page says where it came from.
        var console = await (await s.Http.GetAsync("/discovery")).Content.ReadAsStringAsync();
        Assert.Contains(source, console);
        Assert.Contains($"service in all namespaces of {kube.BaseUrl}", console);
        Assert.Contains($"discovery_source%3D{source}\">2</a>", console);
        var page = await (await s.Http.GetAsync($"/servers/{source}.shop.catalog")).Content.ReadAsStringAsync();
        Assert.Contains($"discovered by source {source} (service/shop/catalog)", page);

        // The annotation is taken off: the service no longer yields a server.
        kube.Put(StandInKubernetes.Services, StandInKubernetes.Service("shop", "cart", 8081, null, Map(("env", "prod"))));
        await ServerLeavesAsync(s, $"{source}.shop.cart");
        Assert.Equal(HttpStatusCode.NoContent, (await s.Http.DeleteAsync($"/api/discovery/sources/{source}")).StatusCode);
        Assert.NotNull(await ServerAsync(s, $"{source}.shop.mine"));
    }

    [Fact]
    public async Task An_API_server_that_refuses_is_reported_and_nothing_registered_is_removed()
    {
        var s = new ApiScenario(api);
        var source = $"x{s.Id}";
        // Nothing listens on port 9 of 127.0.0.1: the listing fails, the source says so, and it retries with backoff.
        await CreateAsync(s, $$"""{"id":"{{source}}","kind":"kubernetes","role":"mcpserver","url":"http://127.0.0.1:9"}""");
        await Eventually.TrueAsync(async () => (await SourceAsync(s, source)).GetProperty("status").GetProperty("failures").GetInt32() > 0, "the failure to be reported");
        var status = (await SourceAsync(s, source)).GetProperty("status");
        Assert.False(string.IsNullOrEmpty(status.GetProperty("lastError").GetString()));
        Assert.Empty(status.GetProperty("servers").EnumerateArray());
    }

    [Fact]
    public async Task A_wrong_Kubernetes_source_is_refused_at_its_field_and_nothing_is_made()
    {
        var s = new ApiScenario(api);
        foreach (var (body, field) in new[]
        {
            ($$"""{"id":"a-{{s.Id}}","kind":"kubernetes","role":"deployment"}""", "role"),
            ($$"""{"id":"b-{{s.Id}}","kind":"kubernetes","namespaces":["Team_A"]}""", "namespaces[0]"),
            ($$"""{"id":"c-{{s.Id}}","kind":"kubernetes","labelSelector":"app=(x"}""", "labelSelector"),
            ($$"""{"id":"d-{{s.Id}}","kind":"kubernetes","relabel":[{"action":"keep","sourceLabels":["a"],"regex":"("}]}""", "relabel[0].regex"),
            ($$"""{"id":"e-{{s.Id}}","kind":"kubernetes","relabel":[{"action":"explode"}]}""", "relabel[0].action"),
            ($$"""{"id":"f-{{s.Id}}","kind":"kubernetes","relabel":[{"sourceLabels":["a"]}]}""", "relabel[0].targetLabel"),
            ($$"""{"id":"g-{{s.Id}}","kind":"kubernetes","url":"ftp://api"}""", "url"),
            ($$"""{"id":"h-{{s.Id}}","url":"http://127.0.0.1:9","role":"pod"}""", "role"),
            ($$"""{"id":"i-{{s.Id}}","kind":"kubernetes","namePattern":"x"}""", "namePattern"),
        })
        {
            var refused = await s.Http.PostJsonAsync("/api/discovery/sources", body);
            await refused.AssertProblemAsync(400);
            Assert.True((await refused.JsonAsync()).GetProperty("errors").TryGetProperty(field, out _), body);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await s.Http.GetAsync($"/api/discovery/sources/a-{s.Id}")).StatusCode);
    }
}
