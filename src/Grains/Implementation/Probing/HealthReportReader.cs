using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>
/// Reads a server's own health endpoint in the seed's shape:
/// <c>{"status":"healthy|degraded|unhealthy","checks":{"name":{"status":…,"message":…}},…}</c>, 503 when unhealthy.
/// </summary>
public sealed class HealthReportReader(IHttpClientFactory httpClients, TimeProvider time)
{
    public async Task<HealthReportResult> ReadAsync(string url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return Failed(CheckOutcome.InvalidTarget, null, "the health URL is not an absolute http(s) URL");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        int? status = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await httpClients.CreateClient(MetricsScraper.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            status = (int)response.StatusCode;
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return Failed(CheckOutcome.Unauthorized, status, $"HTTP {status}: the health endpoint refused our credentials");
            }
            var body = await response.Content.ReadAsStringAsync(deadline.Token);
            var unavailable = response.StatusCode == HttpStatusCode.ServiceUnavailable;
            if (!response.IsSuccessStatusCode && !unavailable)
            {
                return Failed(CheckOutcome.HttpError, status, $"HTTP {status}");
            }
            if (MetricsScraper.LooksLikeHtml(response.Content.Headers.ContentType?.MediaType, body))
            {
                return Failed(CheckOutcome.ProtocolError, status, "the health URL answered with HTML, not a health report");
            }
            var (reported, failing) = Parse(body, unavailable);
            return new HealthReportResult(time.GetUtcNow(), CheckOutcome.Ok, reported, failing, status, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var (outcome, classifiedStatus, message) = CheckFailures.Classify(e, deadline.IsCancellationRequested);
            return Failed(outcome, classifiedStatus ?? status, message);
        }
    }

    /// <summary>The report's status and its checks that are not healthy. A 503 without a readable report is unhealthy.</summary>
    public static (HealthState Reported, string[] FailingChecks) Parse(string body, bool unavailable)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException) when (unavailable)
        {
            return (HealthState.Unhealthy, ["HTTP 503 without a readable report"]);
        }
        catch (JsonException e)
        {
            throw new UnexpectedReplyException($"the health report is not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("status", out var statusElement)
                || statusElement.ValueKind != JsonValueKind.String)
            {
                if (unavailable) return (HealthState.Unhealthy, ["HTTP 503 without a status"]);
                throw new UnexpectedReplyException("the health report has no \"status\" string");
            }
            var reported = ParseState(statusElement.GetString());
            if (unavailable && reported != HealthState.Unhealthy)
            {
                // 503 is the seed's signal for unhealthy; a body that disagrees loses.
                reported = HealthState.Unhealthy;
            }
            var failing = new List<string>();
            if (root.TryGetProperty("checks", out var checks) && checks.ValueKind == JsonValueKind.Object)
            {
                foreach (var check in checks.EnumerateObject())
                {
                    if (check.Value.ValueKind != JsonValueKind.Object) continue;
                    var checkState = check.Value.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
                        ? ParseState(s.GetString())
                        : HealthState.Unknown;
                    if (checkState == HealthState.Healthy) continue;
                    var message = check.Value.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                    var text = $"{check.Name}: {checkState.ToString().ToLowerInvariant()}" + (string.IsNullOrEmpty(message) ? "" : $" ({message})");
                    failing.Add(text.Length > 300 ? text[..300] : text);
                    if (failing.Count == 20) break;
                }
            }
            return (reported, [.. failing]);
        }
    }

    private static HealthState ParseState(string? text) => text?.ToLowerInvariant() switch
    {
        "healthy" or "ok" or "up" or "pass" => HealthState.Healthy,
        "degraded" or "warn" => HealthState.Degraded,
        "unhealthy" or "down" or "fail" => HealthState.Unhealthy,
        _ => HealthState.Unknown,
    };

    private HealthReportResult Failed(CheckOutcome outcome, int? status, string message) =>
        new(time.GetUtcNow(), outcome, HealthState.Unknown, [], status, message);
}
