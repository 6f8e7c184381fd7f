using System.Text.Json;
using Monitoring.Servers;

namespace Monitoring.Discovery;

/// <summary>
/// From one Kubernetes object to the server it yields, with no cluster (table-tested). Each role reads its own kind:
/// <list type="bullet">
/// <item><c>mcpserver</c> (kubernetes-sigs/mcp-lifecycle-operator, <c>mcp.x-k8s.io</c>): <c>status.address.url</c>, once
/// the <c>Verified</c> condition is true; its name from <c>status.serverInfo</c>.</item>
/// <item><c>toolhive</c> (<c>toolhive.stacklok.dev</c>): <c>status.url</c> while <c>status.phase</c> is Ready (Running
/// before v1beta1); the transport from <c>spec.transport</c> (stdio is served through <c>spec.proxyMode</c>).</item>
/// <item><c>service</c> and <c>pod</c>: only those annotated <c>mcp-alerting.io/probe: "true"</c>, at
/// <c>mcp-alerting.io/port</c> (else the first port) and <c>mcp-alerting.io/path</c> (else <c>/mcp</c>); a service by its
/// cluster DNS name, a pod by its IP once it is running and ready.</item>
/// </list>
/// Its labels, before relabeling: the source's, the object's own (as label names: <c>app.kubernetes.io/name</c> is
/// <c>app_kubernetes_io_name</c>), <c>namespace</c>, and Prometheus-style meta labels
/// (<c>__meta_kubernetes_namespace</c>, <c>__meta_kubernetes_{kind}_name</c>, <c>…_label_{name}</c>,
/// <c>…_annotation_{name}</c>, and the role's own), with <c>__endpoint__</c> holding the address, which relabeling may rewrite.
/// </summary>
public static class KubernetesTargets
{
    public const string AnnotationPrefix = "mcp-alerting.io/";
    public const string ProbeAnnotation = AnnotationPrefix + "probe";
    public const string PortAnnotation = AnnotationPrefix + "port";
    public const string PathAnnotation = AnnotationPrefix + "path";
    public const string SchemeAnnotation = AnnotationPrefix + "scheme";
    public const string TransportAnnotation = AnnotationPrefix + "transport";

    /// <summary>The API group, version and plural a role lists; the group is empty for the core kinds.</summary>
    public static (string Group, string Version, string Plural, string Kind) Resource(string role) => role switch
    {
        DiscoverySource.LifecycleRole => ("mcp.x-k8s.io", "v1beta1", "mcpservers", "mcpserver"),
        DiscoverySource.ToolHiveRole => ("toolhive.stacklok.dev", "v1beta1", "mcpservers", "mcpserver"),
        DiscoverySource.ServiceRole => ("", "v1", "services", "service"),
        DiscoverySource.PodRole => ("", "v1", "pods", "pod"),
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a Kubernetes role"),
    };

    public static string RefOf(JsonElement item) => $"{Text(item, "metadata", "namespace") ?? ""}/{Text(item, "metadata", "name") ?? ""}";

    public static WatchedObject Read(DiscoverySource source, JsonElement item)
    {
        var role = source.Role ?? DiscoverySource.LifecycleRole;
        var kind = Resource(role).Kind;
        var ns = Text(item, "metadata", "namespace") ?? "";
        var name = Text(item, "metadata", "name") ?? "";
        var reference = $"{ns}/{name}";
        var objectLabels = Strings(item, "labels");
        var annotations = Strings(item, "annotations");
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__meta_kubernetes_namespace"] = ns,
            [$"__meta_kubernetes_{kind}_name"] = name,
        };
        foreach (var (key, value) in objectLabels)
        {
            meta[$"__meta_kubernetes_{kind}_label_{Relabeling.Sanitize(key)}"] = value;
            meta[$"__meta_kubernetes_{kind}_labelpresent_{Relabeling.Sanitize(key)}"] = "true";
        }
        foreach (var (key, value) in annotations) meta[$"__meta_kubernetes_{kind}_annotation_{Relabeling.Sanitize(key)}"] = value;

        var target = role switch
        {
            DiscoverySource.LifecycleRole => Lifecycle(item, meta),
            DiscoverySource.ToolHiveRole => ToolHive(item, meta),
            _ when annotations.GetValueOrDefault(ProbeAnnotation) != "true" => Target.None,
            DiscoverySource.ServiceRole => Service(item, annotations, ns, name),
            _ => Pod(item, annotations, meta),
        };
        if (target.Url is null) return new WatchedObject(reference, target.Ready ? [] : null);
        if (!target.Ready) return new WatchedObject(reference, null);

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in objectLabels) labels[Relabeling.Sanitize(key)] = value;
        foreach (var (key, value) in source.Labels) labels[key] = value;
        labels["namespace"] = ns;
        foreach (var (key, value) in meta) labels[key] = value;
        labels["__endpoint__"] = target.Url;
        if (Relabeling.Apply(source.Relabel, labels) is not { } relabeled) return new WatchedObject(reference, []);
        if (!Uri.TryCreate(relabeled.GetValueOrDefault("__endpoint__"), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            return new WatchedObject(reference, []);
        }
        var id = RegistryPlan.IdOf(source.Id, $"{ns}.{name}", 0);
        var server = new McpServer(id, target.Title ?? name, endpoint.ToString(), Relabeling.Finish(relabeled, source.Id), true, default, default)
        {
            Origin = new ServerOrigin(source.Id, $"{kind}/{reference}"),
            Probe = ProbeSettings.Default with { Transport = target.Sse ? ProbeTransport.Sse : ProbeTransport.StreamableHttp },
        };
        return new WatchedObject(reference, [server]);
    }

    /// <summary>Where an object's server is, whether it may be taken now, and what it is called.</summary>
    private sealed record Target(string? Url, bool Ready, string? Title = null, bool Sse = false)
    {
        public static readonly Target None = new(null, true);
    }

    private static Target Lifecycle(JsonElement item, Dictionary<string, string> meta)
    {
        var verified = Conditions(item).Any(c => Text(c, "type") == "Verified" && Text(c, "status") == "True");
        var serverName = Text(item, "status", "serverInfo", "name");
        if (serverName is not null) meta["__meta_kubernetes_mcpserver_server_name"] = serverName;
        if (Text(item, "status", "serverInfo", "version") is { } version) meta["__meta_kubernetes_mcpserver_server_version"] = version;
        meta["__meta_kubernetes_mcpserver_verified"] = verified ? "true" : "false";
        return new Target(Text(item, "status", "address", "url"), verified, serverName);
    }

    private static Target ToolHive(JsonElement item, Dictionary<string, string> meta)
    {
        var phase = Text(item, "status", "phase") ?? "";
        var transport = Text(item, "spec", "transport") ?? "streamable-http";
        var served = transport == "stdio" ? Text(item, "spec", "proxyMode") ?? "sse" : transport;
        meta["__meta_kubernetes_mcpserver_phase"] = phase;
        meta["__meta_kubernetes_mcpserver_transport"] = transport;
        return new Target(Text(item, "status", "url"), phase is "Ready" or "Running", null, served == "sse");
    }

    private static Target Service(JsonElement item, Dictionary<string, string> annotations, string ns, string name)
    {
        var port = annotations.GetValueOrDefault(PortAnnotation) ?? FirstPort(item, "spec", "ports", "port");
        return port is null ? Target.None : new Target(Url(annotations, $"{name}.{ns}.svc", port), true, null, annotations.GetValueOrDefault(TransportAnnotation) == "sse");
    }

    private static Target Pod(JsonElement item, Dictionary<string, string> annotations, Dictionary<string, string> meta)
    {
        var ip = Text(item, "status", "podIP");
        var ready = Text(item, "status", "phase") == "Running" && Conditions(item).Any(c => Text(c, "type") == "Ready" && Text(c, "status") == "True");
        meta["__meta_kubernetes_pod_ready"] = ready ? "true" : "false";
        if (ip is not null) meta["__meta_kubernetes_pod_ip"] = ip;
        if (Text(item, "spec", "nodeName") is { } node) meta["__meta_kubernetes_pod_node_name"] = node;
        var port = annotations.GetValueOrDefault(PortAnnotation) ?? ContainerPort(item);
        if (port is null) return Target.None;
        return new Target(ip is null ? null : Url(annotations, ip.Contains(':') ? $"[{ip}]" : ip, port), ready, null, annotations.GetValueOrDefault(TransportAnnotation) == "sse");
    }

    private static string Url(Dictionary<string, string> annotations, string host, string port)
    {
        var path = annotations.GetValueOrDefault(PathAnnotation) ?? "/mcp";
        return $"{annotations.GetValueOrDefault(SchemeAnnotation) ?? "http"}://{host}:{port}{(path.StartsWith('/') ? path : "/" + path)}";
    }

    private static string? FirstPort(JsonElement item, string spec, string list, string field) =>
        Find(item, spec, list) is { ValueKind: JsonValueKind.Array } ports && ports.GetArrayLength() > 0
            && ports[0].TryGetProperty(field, out var port) && port.ValueKind == JsonValueKind.Number ? port.GetInt32().ToString() : null;

    private static string? ContainerPort(JsonElement item)
    {
        if (Find(item, "spec", "containers") is not { ValueKind: JsonValueKind.Array } containers) return null;
        foreach (var container in containers.EnumerateArray())
        {
            if (container.TryGetProperty("ports", out var ports) && ports.ValueKind == JsonValueKind.Array && ports.GetArrayLength() > 0
                && ports[0].TryGetProperty("containerPort", out var port) && port.ValueKind == JsonValueKind.Number)
            {
                return port.GetInt32().ToString();
            }
        }
        return null;
    }

    private static IEnumerable<JsonElement> Conditions(JsonElement item) =>
        Find(item, "status", "conditions") is { ValueKind: JsonValueKind.Array } list ? list.EnumerateArray() : [];

    private static Dictionary<string, string> Strings(JsonElement item, string field)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Find(item, "metadata", field) is { ValueKind: JsonValueKind.Object } values)
        {
            foreach (var p in values.EnumerateObject()) if (p.Value.ValueKind == JsonValueKind.String) map[p.Name] = p.Value.GetString()!;
        }
        return map;
    }

    private static JsonElement? Find(JsonElement element, params string[] path)
    {
        foreach (var step in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(step, out element)) return null;
        }
        return element;
    }

    private static string? Text(JsonElement element, params string[] path) => Find(element, path) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;
}

/// <summary>
/// What a watch's batch changes, with no cluster (table-tested): the servers its objects yield are wanted; a known
/// server goes when its object is deleted or yields it no more, and, for a full listing, when its object is not listed
/// in the listing's namespace. An object not ready keeps what it had.
/// </summary>
public static class KubernetesPlan
{
    public static DiscoveryChanges Plan(WatchBatch batch, IReadOnlyDictionary<string, string> known)
    {
        var latest = new Dictionary<string, WatchedObject>(StringComparer.Ordinal);
        foreach (var o in batch.Objects) latest[o.Ref] = o;
        var wanted = new Dictionary<string, McpServer>(StringComparer.Ordinal);
        foreach (var server in latest.Values.Where(o => o.Servers is not null).SelectMany(o => o.Servers!)) wanted[server.Id] = server;
        var gone = known.Where(k =>
        {
            var reference = RefOf(k.Value);
            if (latest.TryGetValue(reference, out var o)) return o.Servers is not null && !wanted.ContainsKey(k.Key);
            return batch.Snapshot && (batch.Scope.Length == 0 || reference.StartsWith(batch.Scope + "/", StringComparison.Ordinal));
        }).Select(k => k.Key).Order(StringComparer.Ordinal).ToArray();
        return new DiscoveryChanges(wanted, gone);
    }

    /// <summary>A server's origin reference (<c>kind/namespace/name</c>) without its kind.</summary>
    private static string RefOf(string origin) => origin[(origin.IndexOf('/') + 1)..];
}
