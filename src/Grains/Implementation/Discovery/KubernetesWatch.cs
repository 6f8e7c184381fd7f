using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Monitoring.Discovery;

/// <summary>
/// One list-and-watch of one role in one namespace ("" for all), the way client-go's reflector does it: list (500 at a
/// time, through <c>continue</c>) and hand the source the whole listing; then watch from the listing's
/// <c>resourceVersion</c> with bookmarks, handing over events in order (a burst in one batch). A watch the server ends or
/// drops resumes from the last version seen (an event's or a bookmark's); a 410 Gone, as a status or as an
/// <c>ERROR</c> event, lists again. A failure is handed over as an error and retried with backoff (1 s doubling to
/// 5 minutes); what was registered stays.
/// </summary>
public sealed class KubernetesWatch(IKubernetes client, DiscoverySource source, string scope, int generation, Func<WatchBatch, Task> sink, TimeProvider time)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var batches = Channel.CreateUnbounded<WatchBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var pump = Task.Run(() => PumpAsync(batches.Reader, cancellationToken), CancellationToken.None);
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var version = await ListAsync(batches.Writer, cancellationToken);
                    failures = 0;
                    await WatchAsync(version, batches.Writer, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    failures++;
                    batches.Writer.TryWrite(new WatchBatch(scope, false, [], Describe(e), generation));
                    var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, TimeSpan.FromSeconds(1).Ticks << Math.Min(failures - 1, 20)));
                    await Task.Delay(backoff, time, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            batches.Writer.TryComplete();
            await pump;
        }
    }

    /// <summary>Hands batches over one at a time, in order; the events that queued meanwhile go over together.</summary>
    private async Task PumpAsync(ChannelReader<WatchBatch> reader, CancellationToken cancellationToken)
    {
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                reader.TryRead(out var batch);
                while (!batch!.Snapshot && batch.Error is null && reader.TryPeek(out var next) && !next.Snapshot && next.Error is null && batch.Objects.Length < 5_000)
                {
                    reader.TryRead(out next);
                    batch = batch with { Objects = [.. batch.Objects, .. next!.Objects] };
                }
                await HandOverAsync(batch, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Hands one batch to the source, again until it takes it: a grain call that fails (a timeout, a silo going away)
    /// must not end the pump, or every later event would be read and dropped while the watch looked healthy.
    /// </summary>
    private async Task HandOverAsync(WatchBatch batch, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await sink(batch);
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt, 5))), time, cancellationToken);
            }
        }
    }

    private async Task<string> ListAsync(ChannelWriter<WatchBatch> batches, CancellationToken cancellationToken)
    {
        var objects = new List<WatchedObject>();
        string? next = null;
        string version;
        do
        {
            var page = await Lister.ListAsync(next, cancellationToken);
            objects.AddRange(page.Items.Select(item => KubernetesTargets.Read(source, item)));
            (version, next) = (page.Version, page.Continue);
        }
        while (!string.IsNullOrEmpty(next));
        batches.TryWrite(new WatchBatch(scope, true, [.. objects], null, generation));
        return version;
    }

    /// <summary>Watches until a 410 says to list again; resumes a watch that ended or dropped.</summary>
    private async Task WatchAsync(string version, ChannelWriter<WatchBatch> batches, CancellationToken cancellationToken)
    {
        while (true)
        {
            var gone = false;
            Exception? failed = null;
            try
            {
                await foreach (var (type, item) in Lister.WatchAsync(version, e => { if (IsGone(e)) gone = true; else failed = e; }, cancellationToken))
                {
                    if (VersionOf(item) is { Length: > 0 } seen) version = seen;
                    if (type is WatchEventType.Bookmark or WatchEventType.Error) continue;
                    batches.TryWrite(new WatchBatch(scope, false,
                        [type == WatchEventType.Deleted ? new WatchedObject(KubernetesTargets.RefOf(item), []) : KubernetesTargets.Read(source, item)], null, generation));
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                return;
            }
            catch (Exception e) when (e is IOException or HttpIOException && !cancellationToken.IsCancellationRequested)
            {
                // Dropped mid-stream: resume from the last version seen. A watch that cannot even start throws further up.
            }
            if (gone) return;
            if (failed is not null && failed is not IOException and not HttpIOException) throw failed;
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static bool IsGone(Exception e) => e is KubernetesException { Status.Code: 410 } or HttpOperationException { Response.StatusCode: HttpStatusCode.Gone };

    private static string? VersionOf(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object
        && m.TryGetProperty("resourceVersion", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException h => $"the API server answered {(int)h.Response.StatusCode} {h.Response.ReasonPhrase}{(h.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized ? " (does the silos' service account have the RBAC in k8s/?)" : "")}",
        KubernetesException k => $"the API server said {k.Status?.Code} {k.Status?.Reason}: {k.Status?.Message}",
        _ => e.Message,
    };

    private IObjectLister? _lister;
    private IObjectLister Lister => _lister ??= Listers.For(client, source, scope);
}

/// <summary>One page of a listing, as JSON objects.</summary>
public sealed record ObjectPage(string Version, string? Continue, JsonElement[] Items);

/// <summary>Lists and watches one kind of object, in the JSON the API server sends.</summary>
public interface IObjectLister
{
    Task<ObjectPage> ListAsync(string? next, CancellationToken cancellationToken);

    IAsyncEnumerable<(WatchEventType, JsonElement)> WatchAsync(string version, Action<Exception> onError, CancellationToken cancellationToken);
}

internal static class Listers
{
    private const int PageSize = 500;
    private const int WatchSeconds = 300;

    public static IObjectLister For(IKubernetes client, DiscoverySource source, string scope) => source.Role switch
    {
        DiscoverySource.PodRole => Pods(client, scope, source.LabelSelector),
        DiscoverySource.ServiceRole => Services(client, scope, source.LabelSelector),
        _ => new CustomLister(client, KubernetesTargets.Resource(source.Role ?? DiscoverySource.LifecycleRole), scope, source.LabelSelector),
    };

    private static string? Ns(string scope) => scope.Length == 0 ? null : scope;

    private static JsonElement ToJson(object item) => JsonDocument.Parse(KubernetesJson.Serialize(item)).RootElement.Clone();

    /// <summary>The custom resources' listing, read as JSON.</summary>
    internal sealed class ObjectList
    {
        [JsonPropertyName("metadata")] public V1ListMeta? Metadata { get; set; }

        [JsonPropertyName("items")] public List<JsonElement> Items { get; set; } = [];
    }

    private sealed class CustomLister(IKubernetes client, (string Group, string Version, string Plural, string Kind) r, string scope, string? selector) : IObjectLister
    {
        private Task<HttpOperationResponse<ObjectList>> Call(string? next, CancellationToken ct) => Ns(scope) is { } ns
            ? client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<ObjectList>(r.Group, r.Version, ns, r.Plural,
                continueParameter: next, labelSelector: selector, limit: PageSize,
                cancellationToken: ct)
            : client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<ObjectList>(r.Group, r.Version, r.Plural,
                continueParameter: next, labelSelector: selector, limit: PageSize,
                cancellationToken: ct);

        public async Task<ObjectPage> ListAsync(string? next, CancellationToken ct)
        {
            var list = (await Call(next, ct)).Body;
            return new ObjectPage(list.Metadata?.ResourceVersion ?? "", list.Metadata?.ContinueProperty, [.. list.Items]);
        }

        public async IAsyncEnumerable<(WatchEventType, JsonElement)> WatchAsync(string version, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
        {
            var events = Ns(scope) is { } ns
                ? client.CustomObjects.WatchListNamespacedCustomObjectAsync(r.Group, r.Version, ns, r.Plural, allowWatchBookmarks: true, labelSelector: selector,
                    resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
                : client.CustomObjects.WatchListClusterCustomObjectAsync(r.Group, r.Version, r.Plural, allowWatchBookmarks: true, labelSelector: selector,
                    resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct);
            await foreach (var (type, item) in events) yield return (type, item is JsonElement json ? json : ToJson(item));
        }
    }

    /// <summary>A core kind (pods, services): the client's typed list and watch, each object handed on as JSON.</summary>
    private sealed class CoreLister<TItem, TList>(
        Func<string?, CancellationToken, Task<HttpOperationResponse<TList>>> list,
        Func<TList, (V1ListMeta? Meta, IEnumerable<TItem> Items)> read,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, TItem)>> watch) : IObjectLister
        where TItem : notnull
    {
        public async Task<ObjectPage> ListAsync(string? next, CancellationToken ct)
        {
            var (meta, items) = read((await list(next, ct)).Body);
            return new ObjectPage(meta?.ResourceVersion ?? "", meta?.ContinueProperty, [.. items.Select(i => ToJson(i))]);
        }

        public async IAsyncEnumerable<(WatchEventType, JsonElement)> WatchAsync(string version, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var (type, item) in watch(version, onError, ct)) yield return (type, ToJson(item));
        }
    }

    private static CoreLister<V1Pod, V1PodList> Pods(IKubernetes client, string scope, string? selector) => new(
        (next, ct) => Ns(scope) is { } ns
            ? client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct)
            : client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
        l => (l.Metadata, l.Items),
        (version, onError, ct) => Ns(scope) is { } ns
            ? client.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
            : client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct));

    private static CoreLister<V1Service, V1ServiceList> Services(IKubernetes client, string scope, string? selector) => new(
        (next, ct) => Ns(scope) is { } ns
            ? client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct)
            : client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
        l => (l.Metadata, l.Items),
        (version, onError, ct) => Ns(scope) is { } ns
            ? client.CoreV1.WatchListNamespacedServiceAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct)
            : client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: WatchSeconds, onError: onError, cancellationToken: ct));
}
