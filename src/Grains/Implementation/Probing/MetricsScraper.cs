using System.Diagnostics;
using System.Net.Http.Headers;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>Scrapes a Prometheus text endpoint and reads the seed's families out of it. Failures come back classified.</summary>
public sealed class MetricsScraper(IHttpClientFactory httpClients, TimeProvider time)
{
    public const string HttpClientName = "scrape";

    public async Task<ScrapeResult> ScrapeAsync(string url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        double Elapsed() => Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return new ScrapeResult(time.GetUtcNow(), CheckOutcome.InvalidTarget, 0, 0, null, "the metrics URL is not an absolute http(s) URL");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        int? status = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            using var response = await httpClients.CreateClient(HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            status = (int)response.StatusCode;
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStringAsync(deadline.Token);
            if (LooksLikeHtml(response.Content.Headers.ContentType?.MediaType, body))
            {
                throw new UnexpectedReplyException("the metrics URL answered with HTML, not the Prometheus text format");
            }
            List<PrometheusSample> samples;
            try
            {
                samples = PrometheusText.Parse(body);
            }
            catch (PrometheusFormatException e)
            {
                throw new UnexpectedReplyException($"not the Prometheus text format: {e.Message}");
            }
            return new ScrapeResult(time.GetUtcNow(), CheckOutcome.Ok, Elapsed(), samples.Count, status, null)
            {
                Counters = McpMetricFamilies.Extract(samples),
            };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var (outcome, classifiedStatus, message) = CheckFailures.Classify(e, deadline.IsCancellationRequested);
            return new ScrapeResult(time.GetUtcNow(), outcome, Elapsed(), 0, classifiedStatus ?? status, message);
        }
    }

    internal static bool LooksLikeHtml(string? mediaType, string body) =>
        mediaType is "text/html" or "application/xhtml+xml" || body.AsSpan().TrimStart().StartsWith("<", StringComparison.Ordinal);
}
