using Prometheus;

namespace Monitoring.Hosting.Observability;

public static class MetricsExport
{
    private static int _configured;
    private static readonly string[] ExportedMeters = ["Microsoft.Orleans", "Npgsql", "Polly", "System.Net.Http", "Microsoft.AspNetCore", "System.Runtime"];

    /// <summary>
    /// What /metrics exports besides the product's own metrics: prometheus-net's process and .NET collectors, and
    /// the System.Diagnostics.Metrics meters below (Orleans' among them). System.Runtime's give what the collector
    /// costs (<c>system_runtime_dotnet_gc_heap_total_allocated</c>, <c>…_gc_pause_time</c>), lock contention and CPU,
    /// which the storm benchmark reads. Instruments whose names would break Prometheus' conventions (a gauge called
    /// …count, as System.Runtime and Npgsql have; prometheus-net exports an observable counter as a gauge) are left out,
    /// as are EventCounters, so `promtool check metrics` passes. Called once per process by the API and by the silo.
    /// </summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        static bool Exported(System.Diagnostics.Metrics.Instrument instrument) =>
            ExportedMeters.Any(prefix => instrument.Meter.Name.StartsWith(prefix, StringComparison.Ordinal))
            && !(instrument.Name.EndsWith("count", StringComparison.Ordinal) && instrument.GetType().Name is not "Counter`1");
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true });
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = Exported);
    }
}
