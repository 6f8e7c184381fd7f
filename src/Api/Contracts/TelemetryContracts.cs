using Monitoring.Api.Problems;
using Monitoring.Servers;

namespace Monitoring.Api.Contracts;

/// <summary>
/// One request record. Settable properties rather than a constructor: a bulk push binds tens of thousands of these,
/// and System.Text.Json binds constructor parameters markedly slower than properties.
/// </summary>
public sealed class TelemetryRecordRequest
{
    public string? Method { get; set; }
    public string? Tool { get; set; }
    public double? DurationMs { get; set; }
    public bool? Success { get; set; }
    public DateTimeOffset? Timestamp { get; set; }
}

public sealed record GaugesRequest(double? ActiveConnections, double? CpuUsage, double? MemoryUsage);

public sealed record TelemetryRequest(TelemetryRecordRequest[]? Requests, GaugesRequest? Gauges)
{
    private const int MaxReportedErrors = 20;
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    public TelemetryBatch? ToBatch(int maxBatch, DateTimeOffset now, RequestErrors errors)
    {
        var requests = Requests ?? [];
        if (Requests is null && Gauges is null)
        {
            errors.Add("requests", "send request records, gauges, or both");
            return null;
        }
        if (requests.Length > maxBatch)
        {
            errors.Add("requests", $"holds {requests.Length} records; the limit is {maxBatch} per push");
            return null;
        }
        var records = new RequestRecord[requests.Length];
        var reported = 0;
        void Report(string field, string message)
        {
            if (reported++ < MaxReportedErrors) errors.Add(field, message);
        }
        for (var i = 0; i < requests.Length; i++)
        {
            var r = requests[i];
            var at = $"requests[{i}]";
            if (r is null) { Report(at, "must be an object"); continue; }
            if (string.IsNullOrWhiteSpace(r.Method) || r.Method.Length > 128) Report($"{at}.method", "is required, at most 128 characters");
            else if (HasControl(r.Method)) Report($"{at}.method", "must not contain control or formatting characters");
            if (r.Tool is { Length: 0 or > 128 }) Report($"{at}.tool", "must be 1-128 characters when given");
            else if (r.Tool is not null && HasControl(r.Tool)) Report($"{at}.tool", "must not contain control or formatting characters");
            if (r.DurationMs is not { } ms || !double.IsFinite(ms) || ms < 0 || ms > 86_400_000) Report($"{at}.durationMs", "is required: milliseconds from 0 to 86400000");
            if (r.Timestamp > now + FutureTolerance) Report($"{at}.timestamp", "is more than 5 minutes in the future");
            records[i] = new RequestRecord(r.Method ?? "", r.Tool, r.DurationMs ?? 0, r.Success ?? true, r.Timestamp);
        }
        GaugeReading? gauges = null;
        if (Gauges is { } g)
        {
            if (g.ActiveConnections is { } c && !(c >= 0 && c <= 10_000_000)) errors.Add("gauges.activeConnections", "must be from 0 to 10000000");
            if (g.CpuUsage is { } cpu && !(cpu >= 0 && cpu <= 100)) errors.Add("gauges.cpuUsage", "is a percentage from 0 to 100");
            if (g.MemoryUsage is { } mem && !(mem >= 0 && mem <= 100)) errors.Add("gauges.memoryUsage", "is a percentage from 0 to 100");
            gauges = new GaugeReading(g.ActiveConnections, g.CpuUsage, g.MemoryUsage);
        }
        if (reported > MaxReportedErrors) errors.Add("requests", $"{reported - MaxReportedErrors} more errors not shown");
        return errors.Any ? null : new TelemetryBatch(records, gauges);
    }

    /// <summary>Control and formatting characters (NUL, newlines, bidirectional overrides) would forge labels and log lines.</summary>
    private static bool HasControl(string text)
    {
        foreach (var c in text)
        {
            if (c < 0x7F ? c < 0x20 : char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format) return true;
        }
        return false;
    }
}

public sealed record TelemetryResponse(int Accepted, int Dropped);

/// <summary>One server's part of a bulk push: its id, its ingest token (needed when the request has no API key), its telemetry.</summary>
public sealed record BulkTelemetryItem(string? ServerId, string? Token, TelemetryRequest? Telemetry);

/// <summary>Telemetry for many servers in one request, as a collector or gateway reports it.</summary>
public sealed record BulkTelemetryRequest(BulkTelemetryItem?[]? Servers);

/// <summary>
/// What a bulk push did: records accepted and dropped over all servers; servers not registered (nothing taken for
/// them); and servers whose breaches could not reach their alerts while the cluster failed over (send those again).
/// </summary>
public sealed record BulkTelemetryResponse(int Servers, int Accepted, int Dropped, string[] Unknown, string[] Retry);

/// <summary>What one telemetry push may carry, bound from "Monitoring".</summary>
public sealed class TelemetryLimits
{
    public const string Section = "Monitoring";

    /// <summary>The most request records one telemetry push may carry.</summary>
    public int MaxTelemetryBatch { get; set; } = 10_000;

    /// <summary>The most servers one bulk apply (<c>POST /api/servers/bulk</c>) may carry.</summary>
    public int MaxBulkServers { get; set; } = 10_000;

    /// <summary>The most servers one bulk telemetry push (<c>POST /api/telemetry</c>) may carry; each within MaxTelemetryBatch records.</summary>
    public int MaxBulkTelemetryServers { get; set; } = 1_000;
}
