using System.IO.Compression;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Monitoring.Api.Contracts;
using Monitoring.Common;
using Monitoring.Api.Problems;
using Monitoring.Api.Security;
using Monitoring.Servers;
using OpenTelemetry.Proto.Collector.Metrics.V1;

namespace Monitoring.Api.Telemetry;

/// <summary>
/// OTLP/HTTP metrics ingest, <c>POST /v1/metrics</c>, as OpenTelemetry SDKs and collectors send it: protobuf
/// (<c>application/x-protobuf</c>) or JSON (<c>application/json</c>), optionally gzip. Answers 200 with an
/// ExportMetricsServiceResponse in the request's encoding, its partial_success counting the points not taken and why.
/// A push whose breach could not reach its alert (a silo failing over) is answered 503 with Retry-After and a
/// google.rpc.Status (UNAVAILABLE), which OTLP/HTTP defines as retryable: collectors and SDKs send it again.
/// Authentication: an operator's key for any server, or a server's own ingest token for points naming that server only.
/// </summary>
public static class OtlpEndpoints
{
    public const string Path = AuthMiddleware.OtlpMetricsPath;

    private const long MaxDecompressedBytes = 32L * 1024 * 1024;
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static void MapOtlpEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, async (HttpContext http, IGrainFactory grains, TelemetryIngest ingest, IOptions<TelemetryLimits> options, TimeProvider time) =>
        {
            var request = http.Request;
            MediaTypeHeaderValue.TryParse(request.ContentType, out var type);
            var json = type?.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) == true;
            if (!json && type?.MediaType.Equals("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
            {
                return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "The request could not be read",
                    detail: "OTLP/HTTP metrics are application/x-protobuf or application/json.");
            }
            var body = await ReadBodyAsync(request, http.RequestAborted);
            if (body.Problem is { } unreadable) return ProblemResults.Invalid([new FieldError("body", unreadable)], "The request body is not valid");
            ExportMetricsServiceRequest export;
            try
            {
                if (json)
                {
                    if (RequestGuards.Check(body.Bytes) is { } problem) return ProblemResults.Invalid([new FieldError("body", problem)], "The request body is not valid");
                    export = Json.Parse<ExportMetricsServiceRequest>(System.Text.Encoding.UTF8.GetString(body.Bytes));
                }
                else
                {
                    export = ExportMetricsServiceRequest.Parser.ParseFrom(body.Bytes);
                }
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
            {
                return ProblemResults.Invalid([new FieldError("body", $"is not an OTLP ExportMetricsServiceRequest: {Shorten(e.Message)}")], "The request body is not valid");
            }

            var errors = new RequestErrors();
            var reading = OtlpMetrics.Read(export, options.Value, time.GetUtcNow(), errors);
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var servers = reading.Servers.ToArray();
            if (http.Items[AuthMiddleware.OtlpIngestTokenItem] is string tokenHash)
            {
                var accepted = await Task.WhenAll(servers.Select(s => grains.GetGrain<IMcpServerGrain>(s.Key).AcceptsIngestTokenAsync(tokenHash)));
                if (servers.Length == 0 || accepted.Any(ok => !ok))
                {
                    var refused = servers.Where((_, i) => !accepted[i]).Select(s => s.Key).Take(20).ToList();
                    return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                        detail: refused.Count == 0
                            ? $"An ingest token may only push its own server's {OtlpMetrics.OperationDuration}, named by the resource's '{OtlpMetrics.ServerAttribute}'; this request names none."
                            : $"An ingest token may only push telemetry to its own server; refused for: {string.Join(", ", refused)}. Nothing was taken.");
                }
            }

            var results = await ingest.IngestAsync([.. servers.Select(s => (s.Key, new TelemetryBatch([], null) { Aggregates = [.. s.Value] }))]);
            if (results.Where(r => r.Outcome == IngestOutcome.Resend).ToList() is { Count: > 0 } resend)
            {
                http.Response.Headers.RetryAfter = TelemetryIngest.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Unavailable(TelemetryIngest.ResendDetail(resend), json);
            }
            for (var i = 0; i < servers.Length; i++)
            {
                if (results[i].Outcome == IngestOutcome.UnknownServer) reading.Reject(servers[i].Value.Count, $"'{servers[i].Key}' is not a registered server");
            }
            var response = new ExportMetricsServiceResponse();
            if (reading.Rejected > 0)
            {
                response.PartialSuccess = new ExportMetricsPartialSuccess
                {
                    RejectedDataPoints = reading.Rejected,
                    ErrorMessage = $"{reading.Rejected} points of {OtlpMetrics.OperationDuration} not taken: {string.Join("; ", reading.Reasons)}",
                };
            }
            return json
                ? Results.Text(JsonFormatter.Default.Format(response), "application/json", statusCode: StatusCodes.Status200OK)
                : Results.Bytes(response.ToByteArray(), "application/x-protobuf");
        }).WithTags("Telemetry").WithMetadata(new AcceptsEncodedBody());
    }

    private static async Task<(byte[] Bytes, string? Problem)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        using var buffer = new MemoryStream();
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            await request.Body.CopyToAsync(buffer, cancellationToken); // Kestrel stops this at the body size limit (413)
            return (buffer.ToArray(), null);
        }
        if (!encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            return ([], $"Content-Encoding '{Shorten(encoding)}' is not supported: send gzip or none");
        }
        try
        {
            await using var gzip = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
            var chunk = new byte[81920];
            int read;
            while ((read = await gzip.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxDecompressedBytes) return ([], $"decompresses to more than {MaxDecompressedBytes / (1024 * 1024)} MiB");
                buffer.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException)
        {
            return ([], "is not valid gzip");
        }
        return (buffer.ToArray(), null);
    }

    /// <summary>gRPC's UNAVAILABLE, the code of a google.rpc.Status that OTLP's failures carry.</summary>
    private const int UnavailableCode = 14;

    /// <summary>A 503 whose body is a google.rpc.Status in the request's encoding, as OTLP/HTTP answers failures.</summary>
    private static IResult Unavailable(string message, bool json)
    {
        if (json)
        {
            return Results.Text(System.Text.Json.JsonSerializer.Serialize(new { code = UnavailableCode, message }), "application/json",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteInt32(UnavailableCode);
            output.WriteTag(2, WireFormat.WireType.LengthDelimited);
            output.WriteString(message);
        }
        return new ProtobufStatus(buffer.ToArray());
    }

    private sealed class ProtobufStatus(byte[] body) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => StatusCodes.Status503ServiceUnavailable;

        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/x-protobuf";
            return context.Response.Body.WriteAsync(body).AsTask();
        }
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
