using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Monitoring.Tests.Support;

/// <summary>
/// A stand-in Kubernetes API server on 127.0.0.1 (no API server can run on this machine). It serves the list-and-watch
/// protocol as the API documents it, for pods and services (<c>/api/v1</c>) and for the two operators' <c>MCPServer</c>
/// resources (<c>/apis/mcp.x-k8s.io/v1beta1</c>, <c>/apis/toolhive.stacklok.dev/v1beta1</c>), cluster-wide and by
/// namespace:
/// <list type="bullet">
/// <item>a list answers <c>{kind: …List, apiVersion, metadata: {resourceVersion, continue}, items}</c>, a page of
/// <c>limit</c> at a time, filtered by <c>labelSelector</c> (<c>k=v</c>, <c>k!=v</c>, <c>k</c>, <c>!k</c>);</item>
/// <item><c>watch=true</c> streams one JSON event a line (<c>ADDED</c>, <c>MODIFIED</c>, <c>DELETED</c>,
/// <c>BOOKMARK</c> when <c>allowWatchBookmarks</c>), starting after <c>resourceVersion</c>; a version older than the
/// compacted history gets an <c>ERROR</c> event holding a 410 <c>Status</c> (reason <c>Expired</c>);</item>
/// <item>a test can add, change and delete objects, send bookmarks, compact the history, and drop every open watch.</item>
/// </list>
/// It records each request's path and query.
/// </summary>
public sealed class StandInKubernetes : IAsyncDisposable
{
    private sealed record Stored(string Collection, JsonObject Object);

    private sealed record Change(long Version, string Collection, string Type, JsonObject Object, JsonObject? Before);

    private sealed record Watch(string Collection, string? Namespace, string? Selector, bool Bookmarks, Channel<string> Lines);

    private static readonly Dictionary<string, (string ApiVersion, string Kind)> Kinds = new()
    {
        ["api/v1/pods"] = ("v1", "Pod"),
        ["api/v1/services"] = ("v1", "Service"),
        ["apis/mcp.x-k8s.io/v1beta1/mcpservers"] = ("mcp.x-k8s.io/v1beta1", "MCPServer"),
        ["apis/toolhive.stacklok.dev/v1beta1/mcpservers"] = ("toolhive.stacklok.dev/v1beta1", "MCPServer"),
    };

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, Stored> _objects = new(StringComparer.Ordinal);
    private readonly List<Change> _history = [];
    private readonly List<Watch> _watches = [];
    private long _version = 1000;
    private long _compacted;

    private StandInKubernetes(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>
    /// How a watch from a compacted version is refused: an <c>ERROR</c> event in a 200 stream (the watch cache's way,
    /// the default), or, when true, a 410 answer with the <c>Status</c> as its body (as when the request reaches etcd).
    /// </summary>
    public bool GoneAsStatus { get; set; }

    public int OpenWatches
    {
        get
        {
            lock (_gate) return _watches.Count;
        }
    }

    public static async Task<StandInKubernetes> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new StandInKubernetes(app);
        app.MapGet("/api/v1/{plural}", (HttpContext c, string plural) => server.ServeAsync(c, $"api/v1/{plural}", null));
        app.MapGet("/api/v1/namespaces/{ns}/{plural}", (HttpContext c, string ns, string plural) => server.ServeAsync(c, $"api/v1/{plural}", ns));
        app.MapGet("/apis/{group}/{version}/{plural}", (HttpContext c, string group, string version, string plural) => server.ServeAsync(c, $"apis/{group}/{version}/{plural}", null));
        app.MapGet("/apis/{group}/{version}/namespaces/{ns}/{plural}", (HttpContext c, string group, string version, string ns, string plural) =>
            server.ServeAsync(c, $"apis/{group}/{version}/{plural}", ns));
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return server;
    }

    public const string Lifecycle = "apis/mcp.x-k8s.io/v1beta1/mcpservers";
    public const string ToolHive = "apis/toolhive.stacklok.dev/v1beta1/mcpservers";
    public const string Services = "api/v1/services";
    public const string Pods = "api/v1/pods";

    /// <summary>Creates or replaces an object (its <c>metadata.namespace</c> and <c>name</c> say which); answers its new resourceVersion.</summary>
    public long Put(string collection, JsonObject item)
    {
        lock (_gate)
        {
            var (apiVersion, kind) = Kinds[collection];
            item["apiVersion"] = apiVersion;
            item["kind"] = kind;
            var meta = item["metadata"]!.AsObject();
            var key = $"{collection}|{meta["namespace"]}/{meta["name"]}";
            var version = ++_version;
            meta["resourceVersion"] = version.ToString();
            var before = _objects.TryGetValue(key, out var old) ? old.Object : null;
            meta["uid"] = before?["metadata"]?["uid"]?.GetValue<string>() ?? Guid.NewGuid().ToString();
            meta["creationTimestamp"] = before?["metadata"]?["creationTimestamp"]?.GetValue<string>() ?? "2026-12-06T10:00:00Z";
            _objects[key] = new Stored(collection, (JsonObject)item.DeepClone());
            Publish(new Change(version, collection, before is null ? "ADDED" : "MODIFIED", (JsonObject)item.DeepClone(), before));
            return version;
        }
    }

    public void Delete(string collection, string ns, string name)
    {
        lock (_gate)
        {
            if (!_objects.Remove($"{collection}|{ns}/{name}", out var stored)) return;
            var gone = (JsonObject)stored.Object.DeepClone();
            gone["metadata"]!["resourceVersion"] = (++_version).ToString();
            Publish(new Change(_version, collection, "DELETED", gone, stored.Object));
        }
    }

    /// <summary>Removes an object with no event, as a deletion lost in compacted history looks to a watch that missed it.</summary>
    public void ForgetUnseen(string collection, string ns, string name)
    {
        lock (_gate)
        {
            _objects.Remove($"{collection}|{ns}/{name}");
            _version++;
        }
    }

    /// <summary>Sends a bookmark at the current resourceVersion to every watch that allows them; answers that version.</summary>
    public long Bookmark()
    {
        lock (_gate)
        {
            var version = ++_version;
            foreach (var w in _watches.Where(w => w.Bookmarks))
            {
                var (apiVersion, kind) = Kinds[w.Collection];
                w.Lines.Writer.TryWrite(Line("BOOKMARK", new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString() } }));
            }
            return version;
        }
    }

    /// <summary>Forgets the history so far: a watch from an older resourceVersion is answered 410 Gone, as after etcd's compaction.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compacted = ++_version;
            _history.Clear();
        }
    }

    /// <summary>Closes every open watch, as a restarting API server or a load balancer does.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var w in _watches) w.Lines.Writer.TryComplete();
            _watches.Clear();
        }
    }

    private void Publish(Change change)
    {
        _history.Add(change);
        foreach (var w in _watches.Where(w => w.Collection == change.Collection)) if (EventFor(w.Namespace, w.Selector, change) is { } line) w.Lines.Writer.TryWrite(line);
    }

    /// <summary>The event a watch sees for a change: an object that starts or stops matching its selector is added or deleted for it.</summary>
    private static string? EventFor(string? ns, string? selector, Change change)
    {
        if (ns is not null && change.Object["metadata"]!["namespace"]?.GetValue<string>() != ns) return null;
        var now = change.Type != "DELETED" && Matches(selector, change.Object);
        var was = change.Before is not null && Matches(selector, change.Before);
        var type = change.Type switch
        {
            "DELETED" => was ? "DELETED" : null,
            _ when now && was => "MODIFIED",
            _ when now => "ADDED",
            _ when was => "DELETED",
            _ => null,
        };
        return type is null ? null : Line(type, change.Object);
    }

    private static string Line(string type, JsonObject item) => new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString() + "\n";

    private static bool Matches(string? selector, JsonObject item)
    {
        if (string.IsNullOrEmpty(selector)) return true;
        var labels = item["metadata"]?["labels"] as JsonObject;
        string? Label(string k) => labels?[k]?.GetValue<string>();
        foreach (var raw in selector.Split(','))
        {
            var term = raw.Trim();
            var ok = term switch
            {
                _ when term.Contains("!=") => Label(term.Split("!=")[0].Trim()) != term.Split("!=")[1].Trim(),
                _ when term.Contains('=') => Label(term.Split('=', 2)[0].Trim()) == term.Split('=', 2)[1].TrimStart('=').Trim(),
                _ when term.StartsWith('!') => Label(term[1..]) is null,
                _ => Label(term) is not null,
            };
            if (!ok) return false;
        }
        return true;
    }

    private async Task ServeAsync(HttpContext context, string collection, string? ns)
    {
        var q = context.Request.Query;
        Requests.Enqueue($"{context.Request.Path}{context.Request.QueryString}");
        if (!Kinds.ContainsKey(collection))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(Status(404, "NotFound", $"the server could not find the requested resource ({collection})"));
            return;
        }
        if (q["watch"] is var w && (w == "true" || w == "1")) await WatchAsync(context, collection, ns, q);
        else await ListAsync(context, collection, ns, q);
    }

    private async Task ListAsync(HttpContext context, string collection, string? ns, IQueryCollection q)
    {
        JsonObject[] items;
        long version;
        lock (_gate)
        {
            version = _version;
            items = [.. _objects.Values.Where(o => o.Collection == collection)
                .Select(o => o.Object)
                .Where(o => ns is null || o["metadata"]!["namespace"]?.GetValue<string>() == ns)
                .Where(o => Matches(q["labelSelector"], o))
                .OrderBy(o => $"{o["metadata"]!["namespace"]}/{o["metadata"]!["name"]}", StringComparer.Ordinal)
                .Select(o => (JsonObject)o.DeepClone())];
        }
        var offset = int.TryParse(q["continue"], out var c) ? c : 0;
        var limit = int.TryParse(q["limit"], out var l) && l > 0 ? l : int.MaxValue;
        var page = items.Skip(offset).Take(limit).ToArray();
        var metadata = new JsonObject { ["resourceVersion"] = version.ToString() };
        if (offset + page.Length < items.Length) metadata["continue"] = (offset + page.Length).ToString();
        var (apiVersion, kind) = Kinds[collection];
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["kind"] = kind + "List", ["apiVersion"] = apiVersion, ["metadata"] = metadata, ["items"] = new JsonArray(page) }.ToJsonString());
    }

    private async Task WatchAsync(HttpContext context, string collection, string? ns, IQueryCollection q)
    {
        var from = long.TryParse(q["resourceVersion"], out var v) ? v : 0;
        var timeout = int.TryParse(q["timeoutSeconds"], out var t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        var watch = new Watch(collection, ns, q["labelSelector"], q["allowWatchBookmarks"] == "true", Channel.CreateUnbounded<string>());
        context.Response.ContentType = "application/json";
        lock (_gate)
        {
            if (from != 0 && from < _compacted && GoneAsStatus)
            {
                context.Response.StatusCode = 410;
                watch.Lines.Writer.TryWrite(Status(410, "Expired", $"too old resource version: {from} ({_compacted})").ToJsonString());
                watch.Lines.Writer.TryComplete();
            }
            else if (from != 0 && from < _compacted)
            {
                var status = Status(410, "Expired", $"too old resource version: {from} ({_compacted})");
                watch.Lines.Writer.TryWrite(Line("ERROR", status));
                watch.Lines.Writer.TryComplete();
            }
            else
            {
                foreach (var change in _history.Where(h => h.Version > from && h.Collection == collection)) if (EventFor(ns, watch.Selector, change) is { } line) watch.Lines.Writer.TryWrite(line);
                _watches.Add(watch);
            }
        }
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        ends.CancelAfter(timeout);
        try
        {
            await context.Response.StartAsync(ends.Token);
            await foreach (var line in watch.Lines.Reader.ReadAllAsync(ends.Token))
            {
                await context.Response.WriteAsync(line, ends.Token);
                await context.Response.Body.FlushAsync(ends.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate) _watches.Remove(watch);
        }
    }

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code,
    };

    /// <summary>An object's metadata: namespace, name, labels and annotations.</summary>
    public static JsonObject Meta(string ns, string name, Dictionary<string, string>? labels = null, Dictionary<string, string>? annotations = null)
    {
        var meta = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (labels is not null) meta["labels"] = new JsonObject(labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value)));
        if (annotations is not null) meta["annotations"] = new JsonObject(annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value)));
        return meta;
    }

    /// <summary>A kubernetes-sigs/mcp-lifecycle-operator MCPServer: its address published once Verified.</summary>
    public static JsonObject LifecycleServer(string ns, string name, string url, bool verified, Dictionary<string, string>? labels = null) => new()
    {
        ["metadata"] = Meta(ns, name, labels),
        ["spec"] = new JsonObject
        {
            ["source"] = new JsonObject { ["containerImage"] = new JsonObject { ["ref"] = "ghcr.io/example/weather:1.2.0" } },
            ["config"] = new JsonObject { ["port"] = 8080, ["path"] = "/mcp" },
        },
        ["status"] = new JsonObject
        {
            ["address"] = verified ? new JsonObject { ["url"] = url } : null,
            ["serverInfo"] = verified ? new JsonObject { ["name"] = $"{name}-server", ["version"] = "1.2.0", ["protocolVersion"] = "2025-06-18" } : null,
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Accepted", ["status"] = "True", ["reason"] = "Valid", ["lastTransitionTime"] = "2026-12-06T10:00:00Z" },
                new JsonObject { ["type"] = "Verified", ["status"] = verified ? "True" : "False", ["reason"] = verified ? "HandshakeSucceeded" : "Pending", ["lastTransitionTime"] = "2026-12-06T10:00:00Z" }),
        },
    };

    /// <summary>A ToolHive MCPServer: its proxy's URL while its phase is Ready.</summary>
    public static JsonObject ToolHiveServer(string ns, string name, string url, string phase, string transport, Dictionary<string, string>? labels = null) => new()
    {
        ["metadata"] = Meta(ns, name, labels),
        ["spec"] = new JsonObject { ["image"] = "ghcr.io/example/notes:0.3", ["transport"] = transport, ["proxyPort"] = 8080, ["proxyMode"] = "sse" },
        ["status"] = new JsonObject { ["url"] = url, ["phase"] = phase, ["readyReplicas"] = phase == "Ready" ? 1 : 0 },
    };

    /// <summary>A ClusterIP service, annotated for this product when <paramref name="annotations"/> say so.</summary>
    public static JsonObject Service(string ns, string name, int port, Dictionary<string, string>? annotations, Dictionary<string, string>? labels = null) => new()
    {
        ["metadata"] = Meta(ns, name, labels, annotations),
        ["spec"] = new JsonObject
        {
            ["type"] = "ClusterIP", ["clusterIP"] = "10.96.0.17",
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "mcp", ["port"] = port, ["targetPort"] = port, ["protocol"] = "TCP" }),
            ["selector"] = new JsonObject { ["app"] = name },
        },
    };

    /// <summary>A pod with one container port, running and ready or not.</summary>
    public static JsonObject Pod(string ns, string name, string ip, bool ready, Dictionary<string, string>? annotations, Dictionary<string, string>? labels = null) => new()
    {
        ["metadata"] = Meta(ns, name, labels, annotations),
        ["spec"] = new JsonObject
        {
            ["nodeName"] = "node-1",
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "server", ["image"] = "ghcr.io/example/tools:2", ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 3000, ["protocol"] = "TCP" }) }),
        },
        ["status"] = new JsonObject
        {
            ["phase"] = ready ? "Running" : "Pending", ["podIP"] = ip,
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
        },
    };

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
