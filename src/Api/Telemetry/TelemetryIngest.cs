using Monitoring.Servers;

namespace Monitoring.Api.Telemetry;

/// <summary>What became of one server's part of a push.</summary>
public enum IngestOutcome
{
    /// <summary>Recorded, and every breach it caused reached its alert.</summary>
    Accepted,

    /// <summary>No such server: nothing was recorded.</summary>
    UnknownServer,

    /// <summary>
    /// A breach could not reach its alert (its silo is failing over), or what it changed could not be stored: not
    /// accepted, and taken back whole by the server, so the sender sends it again and the resend is its only copy.
    /// </summary>
    Resend,
}

public sealed record ServerIngest(string ServerId, IngestOutcome Outcome, int Accepted, int Dropped);

/// <summary>
/// The one ingest path for JSON pushes, bulk pushes and OTLP: it hands each server its part and says, in one
/// vocabulary, what became of it. Each endpoint only words that answer in its own protocol: JSON 503 with
/// Retry-After, bulk 202 listing the servers to resend, OTLP a retryable 503 as OTLP/HTTP defines it.
/// </summary>
public sealed class TelemetryIngest(IGrainFactory grains)
{
    /// <summary>Seconds a sender waits before resending a push whose breach could not reach its alert.</summary>
    public const int RetryAfterSeconds = 1;

    private const int Parallelism = 32;

    public async Task<ServerIngest> IngestAsync(string serverId, TelemetryBatch batch) =>
        Of(serverId, await grains.GetGrain<IMcpServerGrain>(serverId).IngestAsync(batch));

    public async Task<ServerIngest[]> IngestAsync(IReadOnlyList<(string ServerId, TelemetryBatch Batch)> parts)
    {
        var results = new ServerIngest[parts.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, parts.Count), new ParallelOptions { MaxDegreeOfParallelism = Parallelism },
            async (i, _) => results[i] = await IngestAsync(parts[i].ServerId, parts[i].Batch));
        return results;
    }

    /// <summary>The words every endpoint uses for a push that must be sent again.</summary>
    public static string ResendDetail(IEnumerable<ServerIngest> resend)
    {
        var servers = resend.Select(r => r.ServerId).ToList();
        return $"A breach of {string.Join(", ", servers.Take(20))}{(servers.Count > 20 ? $" and {servers.Count - 20} more" : "")} could not reach its alert "
            + "while the cluster fails over; the push was not accepted: send it again.";
    }

    private static ServerIngest Of(string serverId, IngestResult result) => new(
        serverId,
        !result.Found ? IngestOutcome.UnknownServer : result.Unreached > 0 ? IngestOutcome.Resend : IngestOutcome.Accepted,
        result.Accepted,
        result.Dropped);
}
