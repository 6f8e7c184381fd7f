using Monitoring.Api.Contracts;
using Monitoring.Common;
using Monitoring.Api.Problems;
using Monitoring.Servers;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;

namespace Monitoring.Api.Telemetry;

/// <summary>What an OTLP metrics request holds for this product, server by server, and what it could not take.</summary>
internal sealed class OtlpReading
{
    public Dictionary<string, List<RequestAggregate>> Servers { get; } = new(StringComparer.Ordinal);

    /// <summary>Points of <c>mcp.server.operation.duration</c> not taken, with why (no server named, unsupported unit or kind).</summary>
    public long Rejected { get; set; }

    public List<string> Reasons { get; } = [];

    public void Reject(long points, string reason)
    {
        if (points <= 0) return;
        Rejected += points;
        if (Reasons.Count < 10 && !Reasons.Contains(reason)) Reasons.Add(reason);
    }
}

/// <summary>
/// Maps OTLP metrics onto the product's telemetry. Only OpenTelemetry's MCP server metric counts:
/// <c>mcp.server.operation.duration</c>, a histogram (explicit or exponential buckets, delta or cumulative) in
/// seconds (or ms, us), one point per <c>mcp.method.name</c>, <c>gen_ai.tool.name</c> and <c>error.type</c> (an error
/// when present). Its points become requests in the window of the server named by the resource attribute
/// <c>service.name</c> (the server's id). Other metrics are ignored. A point that cannot be true (bucket counts not
/// adding up, bounds out of order, a time in the future) refuses the request with its path; a point that is only
/// not for this product (no server named, an unknown unit) is counted as rejected in the answer.
/// </summary>
internal static class OtlpMetrics
{
    public const string OperationDuration = "mcp.server.operation.duration";
    public const string ServerAttribute = "service.name";
    public const string MethodAttribute = "mcp.method.name";
    public const string ToolAttribute = "gen_ai.tool.name";
    public const string ErrorAttribute = "error.type";
    private const int MaxReportedErrors = 20;
    private const int MaxBuckets = 400;
    private const int MaxNameLength = 255;
    private const int MaxUnitLength = 63;
    private const int MaxKeyLength = 256;
    private const int MaxValueLength = 4096;
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    public static OtlpReading Read(ExportMetricsServiceRequest request, TelemetryLimits limits, DateTimeOffset now, RequestErrors errors)
    {
        var reading = new OtlpReading();
        var reported = 0;
        void Report(string field, string message)
        {
            if (reported++ < MaxReportedErrors) errors.Add(field, message);
        }
        for (var r = 0; r < request.ResourceMetrics.Count; r++)
        {
            var resource = request.ResourceMetrics[r];
            CheckAttributes(resource.Resource?.Attributes, $"resourceMetrics[{r}].resource.attributes", Report);
            var serverId = StringAttribute(resource.Resource?.Attributes, ServerAttribute);
            for (var s = 0; s < resource.ScopeMetrics.Count; s++)
            {
                var scope = resource.ScopeMetrics[s];
                if (scope.Scope is { } named && (named.Name.Length > MaxNameLength || named.Version.Length > MaxNameLength))
                {
                    Report($"resourceMetrics[{r}].scopeMetrics[{s}].scope", $"name and version are at most {MaxNameLength} characters");
                }
                for (var m = 0; m < scope.Metrics.Count; m++)
                {
                    var metric = scope.Metrics[m];
                    var at = $"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}]";
                    // OpenTelemetry's own limits for instruments: names up to 255 characters, units up to 63.
                    if (metric.Name.Length > MaxNameLength) Report($"{at}.name", $"is at most {MaxNameLength} characters");
                    if (metric.Unit.Length > MaxUnitLength) Report($"{at}.unit", $"is at most {MaxUnitLength} characters");
                    if (metric.Description.Length > MaxValueLength) Report($"{at}.description", $"is at most {MaxValueLength} characters");
                    if (metric.Name != OperationDuration) continue;
                    var points = PointCount(metric);
                    if (!Ids.IsValid(serverId))
                    {
                        reading.Reject(points, $"a resource without a '{ServerAttribute}' naming a server ({Ids.Describe})");
                        continue;
                    }
                    if (Scale(metric.Unit) is not { } scale)
                    {
                        reading.Reject(points, $"unit '{Shorten(metric.Unit)}' of {OperationDuration}: send s, ms or us");
                        continue;
                    }
                    var list = reading.Servers.TryGetValue(serverId!, out var existing) ? existing : reading.Servers[serverId!] = [];
                    switch (metric.DataCase)
                    {
                        case Metric.DataOneofCase.Histogram:
                            ReadHistogram(metric.Histogram, scale, at + ".histogram", list, now, Report);
                            break;
                        case Metric.DataOneofCase.ExponentialHistogram:
                            ReadExponential(metric.ExponentialHistogram, scale, at + ".exponentialHistogram", list, now, Report);
                            break;
                        default:
                            reading.Reject(points, $"{OperationDuration} sent as {metric.DataCase}: it must be a histogram");
                            break;
                    }
                    if (list.Count > limits.MaxTelemetryBatch)
                    {
                        Report(at, $"'{serverId}' has more than {limits.MaxTelemetryBatch} points in one request");
                        return reading;
                    }
                }
            }
        }
        foreach (var empty in reading.Servers.Where(p => p.Value.Count == 0).Select(p => p.Key).ToList()) reading.Servers.Remove(empty);
        if (reading.Servers.Count > limits.MaxBulkTelemetryServers)
        {
            Report("resourceMetrics", $"names {reading.Servers.Count} servers; the limit is {limits.MaxBulkTelemetryServers} per request");
        }
        if (reported > MaxReportedErrors) errors.Add("resourceMetrics", $"{reported - MaxReportedErrors} more errors not shown");
        return reading;
    }

    private static void ReadHistogram(Histogram histogram, double scale, string at, List<RequestAggregate> into, DateTimeOffset now, Action<string, string> report)
    {
        if (Cumulative(histogram.AggregationTemporality, at, report) is not { } cumulative) return;
        for (var i = 0; i < histogram.DataPoints.Count; i++)
        {
            var point = histogram.DataPoints[i];
            var path = $"{at}.dataPoints[{i}]";
            if ((point.Flags & (uint)DataPointFlags.NoRecordedValueMask) != 0) continue;
            if (point.ExplicitBounds.Count > MaxBuckets) { report($"{path}.explicitBounds", $"has {point.ExplicitBounds.Count} bounds; at most {MaxBuckets}"); continue; }
            var bounds = point.ExplicitBounds.Select(b => b * scale).ToArray();
            long[] counts = point.BucketCounts.Count == 0 ? [(long)point.Count] : point.BucketCounts.Select(c => (long)c).ToArray();
            if (point.BucketCounts.Count == 0 && bounds.Length > 0) bounds = [];
            if (counts.Length != bounds.Length + 1) { report($"{path}.bucketCounts", $"has {counts.Length} counts for {bounds.Length} bounds; it must have one more"); continue; }
            for (var b = 0; b < bounds.Length; b++)
            {
                if (!double.IsFinite(bounds[b]) || bounds[b] < 0 || b > 0 && bounds[b] <= bounds[b - 1])
                {
                    report($"{path}.explicitBounds[{b}]", "must be finite, not negative, and larger than the bound before it");
                    break;
                }
            }
            if (Point(path, point.Attributes, point.StartTimeUnixNano, point.TimeUnixNano, point.Count, counts, point.HasSum ? point.Sum * scale : null,
                    point.HasMin ? point.Min * scale : null, point.HasMax ? point.Max * scale : null, bounds, cumulative, now, report) is { } aggregate)
            {
                into.Add(aggregate);
            }
        }
    }

    /// <summary>Base-2 exponential buckets become explicit ones: the zero bucket, then each positive bucket's upper bound.</summary>
    private static void ReadExponential(ExponentialHistogram histogram, double scale, string at, List<RequestAggregate> into, DateTimeOffset now, Action<string, string> report)
    {
        if (Cumulative(histogram.AggregationTemporality, at, report) is not { } cumulative) return;
        for (var i = 0; i < histogram.DataPoints.Count; i++)
        {
            var point = histogram.DataPoints[i];
            var path = $"{at}.dataPoints[{i}]";
            if ((point.Flags & (uint)DataPointFlags.NoRecordedValueMask) != 0) continue;
            if (point.Scale is < -10 or > 20) { report($"{path}.scale", "must be from -10 to 20"); continue; }
            var positive = point.Positive?.BucketCounts ?? [];
            if (positive.Count > MaxBuckets) { report($"{path}.positive.bucketCounts", $"has {positive.Count} buckets; at most {MaxBuckets}"); continue; }
            if (point.Negative?.BucketCounts.Any(c => c > 0) == true) { report($"{path}.negative", "durations are never negative"); continue; }
            var offset = point.Positive?.Offset ?? 0;
            var bases = Math.Pow(2, Math.Pow(2, -point.Scale));
            var bounds = new double[positive.Count + 1];
            for (var b = 0; b < bounds.Length; b++) bounds[b] = Math.Pow(bases, offset + b) * scale;
            var counts = new long[positive.Count + 2];
            counts[0] = (long)point.ZeroCount;
            for (var b = 0; b < positive.Count; b++) counts[b + 1] = (long)positive[b];
            if (bounds.Any(b => !double.IsFinite(b))) { report($"{path}.positive.offset", "puts bucket bounds out of range"); continue; }
            if (Point(path, point.Attributes, point.StartTimeUnixNano, point.TimeUnixNano, point.Count, counts, point.HasSum ? point.Sum * scale : null,
                    point.HasMin ? point.Min * scale : null, point.HasMax ? point.Max * scale : null, bounds, cumulative, now, report) is { } aggregate)
            {
                into.Add(aggregate);
            }
        }
    }

    /// <summary>Attribute keys up to 256 characters, text values up to 4,096: far beyond any real resource, short of a hostile one.</summary>
    private static void CheckAttributes(IList<KeyValue>? attributes, string path, Action<string, string> report)
    {
        if (attributes is null) return;
        if (attributes.Count > 128) report(path, "holds more than 128 attributes");
        for (var i = 0; i < attributes.Count && i < 128; i++)
        {
            var attribute = attributes[i];
            if (attribute.Key.Length is 0 or > MaxKeyLength) report($"{path}[{i}].key", $"is 1-{MaxKeyLength} characters");
            if (attribute.Value is { } value && Length(value) > MaxValueLength) report($"{path}[{i}].value", $"is at most {MaxValueLength} characters");
        }
    }

    private static int Length(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue.Length,
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.Length,
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Sum(Length),
        AnyValue.ValueOneofCase.KvlistValue => value.KvlistValue.Values.Sum(v => v.Key.Length + (v.Value is null ? 0 : Length(v.Value))),
        _ => 0,
    };

    private static RequestAggregate? Point(string path, IList<KeyValue> attributes, ulong startNanos, ulong timeNanos, ulong count, long[] counts,
        double? sum, double? min, double? max, double[] bounds, bool cumulative, DateTimeOffset now, Action<string, string> report)
    {
        var ok = true;
        void Fail(string field, string message) { ok = false; report($"{path}.{field}", message); }
        CheckAttributes(attributes, $"{path}.attributes", (field, message) => { ok = false; report(field, message); });
        var method = StringAttribute(attributes, MethodAttribute);
        var tool = StringAttribute(attributes, ToolAttribute);
        var error = StringAttribute(attributes, ErrorAttribute);
        if (method is not { Length: > 0 and <= 128 } || HasControl(method)) Fail("attributes", $"'{MethodAttribute}' is required: 1-128 characters, no control characters");
        if (tool is not null && (tool.Length is 0 or > 128 || HasControl(tool))) Fail("attributes", $"'{ToolAttribute}' must be 1-128 characters without control characters");
        if (error is not null && (error.Length is 0 or > 128 || HasControl(error))) Fail("attributes", $"'{ErrorAttribute}' must be 1-128 characters without control characters");
        if (count > long.MaxValue / 2 || counts.Any(c => c < 0) || (ulong)counts.Sum() != count) Fail("bucketCounts", $"must add up to count ({count})");
        if (sum is { } s && (!double.IsFinite(s) || s < 0)) Fail("sum", "must be a finite duration, not negative");
        if (min is { } lo && (!double.IsFinite(lo) || lo < 0)) Fail("min", "must be a finite duration, not negative");
        if (max is { } hi && (!double.IsFinite(hi) || hi < 0 || min is { } low && hi < low)) Fail("max", "must be a finite duration, not negative, not below min");
        if (timeNanos == 0 || timeNanos > long.MaxValue / 100 * 100) Fail("timeUnixNano", "is required");
        if (cumulative && (startNanos == 0 || startNanos > timeNanos)) Fail("startTimeUnixNano", "is required for a cumulative point and is not after timeUnixNano");
        if (!ok) return null;
        var time = FromNanos(timeNanos);
        if (time > now + FutureTolerance)
        {
            report($"{path}.timeUnixNano", "is more than 5 minutes in the future");
            return null;
        }
        return new RequestAggregate(method!, tool, error, FromNanos(startNanos), time, cumulative, (long)count,
            sum ?? Estimate(bounds, counts, min, max), bounds, counts, min, max);
    }

    /// <summary>When a point has no sum: each bucket's requests at its middle.</summary>
    private static double Estimate(double[] bounds, long[] counts, double? min, double? max)
    {
        double total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            var lower = i == 0 ? min ?? 0 : bounds[i - 1];
            var upper = i < bounds.Length ? bounds[i] : max ?? lower;
            total += counts[i] * (lower + upper) / 2;
        }
        return total;
    }

    /// <summary>Whether the points count since their series started; null (reported) when the temporality is missing.</summary>
    private static bool? Cumulative(AggregationTemporality temporality, string at, Action<string, string> report)
    {
        if (temporality is AggregationTemporality.Cumulative or AggregationTemporality.Delta) return temporality == AggregationTemporality.Cumulative;
        report($"{at}.aggregationTemporality", "is required: 1 (delta) or 2 (cumulative)");
        return null;
    }

    private static double? Scale(string unit) => unit switch
    {
        "s" or "" => 1,
        "ms" => 1e-3,
        "us" => 1e-6,
        _ => null,
    };

    private static int PointCount(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.ExponentialHistogram => metric.ExponentialHistogram.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Summary => metric.Summary.DataPoints.Count,
        _ => 0,
    };

    private static DateTimeOffset FromNanos(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));

    public static string? StringAttribute(IEnumerable<KeyValue>? attributes, string key) =>
        attributes?.FirstOrDefault(a => a.Key == key)?.Value is { ValueCase: AnyValue.ValueOneofCase.StringValue } value ? value.StringValue : null;

    private static bool HasControl(string text) => text.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);

    private static string Shorten(string text) => text.Length <= 32 ? text : text[..32] + "…";
}
