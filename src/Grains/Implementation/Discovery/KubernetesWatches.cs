using k8s;

namespace Monitoring.Discovery;

/// <summary>
/// The running watches of one Kubernetes source: one a namespace (or one for all), each on its own task off the grain's
/// scheduler, handing its batches to the grain through a grain call. Started again as a new generation when the source
/// changes; stopped when the grain deactivates.
/// </summary>
public sealed class KubernetesWatches(TimeProvider time)
{
    private CancellationTokenSource? _stop;
    private Kubernetes? _client;
    private Task[] _running = [];

    public int Generation { get; private set; } = Random.Shared.Next();

    /// <summary>Whether every watch is still running (a watch only ends when stopped; one that threw is restarted).</summary>
    public bool Running => _running.Length > 0 && _running.All(t => !t.IsCompleted);

    /// <summary>Stops the watches there are and starts new ones; throws when there is no API server to reach.</summary>
    public void Start(DiscoverySource source, Func<WatchBatch, Task> sink)
    {
        Stop();
        var client = _client = new Kubernetes(Configuration(source));
        var stop = _stop = new CancellationTokenSource();
        var generation = ++Generation;
        string[] scopes = source.Namespaces.Length == 0 ? [""] : source.Namespaces;
        _running = [.. scopes.Select(scope => Task.Run(() => new KubernetesWatch(client, source, scope, generation, sink, time).RunAsync(stop.Token)))];
    }

    public void Stop()
    {
        _stop?.Cancel();
        _stop?.Dispose();
        _stop = null;
        var (client, running) = (_client, _running);
        _client = null;
        _running = [];
        // The client's connections close once its watches have seen the cancellation and ended.
        if (client is not null) _ = Task.WhenAll(running).ContinueWith(_ => client.Dispose(), TaskScheduler.Default);
    }

    /// <summary>
    /// The source's API server, reached without credentials (a stand-in, or <c>kubectl proxy</c>); else the silo's own
    /// cluster through its service account.
    /// </summary>
    private static KubernetesClientConfiguration Configuration(DiscoverySource source)
    {
        if (source.Url.Length > 0) return new KubernetesClientConfiguration { Host = source.Url, HttpClientTimeout = TimeSpan.FromMinutes(10) };
        if (!KubernetesClientConfiguration.IsInCluster())
        {
            throw new InvalidOperationException("this silo does not run in a Kubernetes pod (no service account is mounted); give the API server's address as the source's url, for example kubectl proxy's");
        }
        var config = KubernetesClientConfiguration.InClusterConfig();
        config.HttpClientTimeout = TimeSpan.FromMinutes(10);
        return config;
    }
}
