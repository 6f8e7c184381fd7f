using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Servers;

namespace Monitoring.Api.Contracts;

/// <summary>How the cluster watches a server. Durations are Prometheus-style; headers are write-only.</summary>
public sealed partial record ProbeRequest(bool? Enabled, string? Interval, string? Timeout, Dictionary<string, string>? Headers, string[]? ExpectedTools,
    string? Transport = null, string? ProtocolVersion = null)
{
    private static readonly string[] Revisions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);
    public const int MaxHeaders = 16;
    public const int MaxExpectedTools = 256;

    public ProbeSettings ToSettings(RequestErrors errors)
    {
        var interval = ProbeSettings.DefaultInterval;
        var timeout = ProbeSettings.DefaultTimeout;
        if (Interval is not null)
        {
            if (!Durations.TryParse(Interval, out interval, out var error)) errors.Add("probe.interval", error);
            else if (interval < MinInterval || interval > MaxInterval) errors.Add("probe.interval", "must be between 1s and 1h");
        }
        if (Timeout is not null)
        {
            if (!Durations.TryParse(Timeout, out timeout, out var error)) errors.Add("probe.timeout", error);
            else if (timeout < TimeSpan.FromMilliseconds(100) || timeout > TimeSpan.FromMinutes(2)) errors.Add("probe.timeout", "must be between 100ms and 2m");
        }
        if (timeout > interval && Interval is not null && Timeout is not null)
        {
            errors.Add("probe.timeout", "must not be longer than probe.interval");
        }
        else if (timeout > interval)
        {
            timeout = interval;
        }
        CheckHeaders(Headers, errors);
        var expected = ExpectedTools ?? [];
        if (expected.Length > MaxExpectedTools) errors.Add("probe.expectedTools", $"at most {MaxExpectedTools} tool names");
        for (var i = 0; i < expected.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(expected[i]) || expected[i].Length > 256) errors.Add($"probe.expectedTools[{i}]", "tool names are 1-256 characters");
        }
        var transport = Transport switch
        {
            null or "auto" => ProbeTransport.Auto,
            "streamable-http" => ProbeTransport.StreamableHttp,
            "sse" => ProbeTransport.Sse,
            _ => Invalid(errors, "probe.transport", "must be auto, streamable-http or sse"),
        };
        if (ProtocolVersion is not null && !Revisions.Contains(ProtocolVersion))
        {
            errors.Add("probe.protocolVersion", $"must be one of {string.Join(", ", Revisions)}, or left out to negotiate");
        }
        if (ProtocolVersion == "2026-07-28" && transport == ProbeTransport.Sse)
        {
            errors.Add("probe.protocolVersion", "2026-07-28 has no HTTP+SSE transport; use streamable-http or an earlier revision");
        }
        return new ProbeSettings(Enabled ?? true, interval, timeout, Headers ?? [], [.. expected.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)])
        {
            Transport = transport,
            ProtocolVersion = ProtocolVersion,
        };
    }

    private static ProbeTransport Invalid(RequestErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return ProbeTransport.Auto;
    }

    private static void CheckHeaders(Dictionary<string, string>? headers, RequestErrors errors)
    {
        if (headers is null) return;
        if (headers.Count > MaxHeaders) errors.Add("probe.headers", $"at most {MaxHeaders} headers");
        foreach (var (name, value) in headers)
        {
            // Never echo a header's value: it is a secret.
            if (!HeaderName().IsMatch(name)) errors.Add($"probe.headers.{Truncate(name)}", "is not a valid HTTP header name");
            else if (value is null || value.Length > 8192 || value.Any(c => c is '\r' or '\n' || char.IsControl(c) && c != '\t'))
            {
                errors.Add($"probe.headers.{name}", "the value must be at most 8192 characters, without line breaks or control characters");
            }
            else if (value.Any(c => c > '~'))
            {
                // HTTP header values are ASCII; a pasted '…' or a non-breaking space would fail every probe later.
                errors.Add($"probe.headers.{name}", "the value must be printable ASCII (a character outside it, such as '…', cannot be sent in an HTTP header)");
            }
            else if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Mcp-", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"probe.headers.{name}", "is set by the prober and cannot be configured");
            }
        }
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")]
    private static partial Regex HeaderName();
}

/// <summary>A fleet to apply: servers as <c>POST /api/servers</c> takes them.</summary>
public sealed record BulkServersRequest(ServerRequest?[]? Servers);

/// <summary>What a bulk apply did: how many servers it was given, created and replaced.</summary>
public sealed record BulkServersResponse(int Total, int Created, int Updated);

public sealed record ServerRequest(
    string? Id, string? Name, string? Endpoint, Dictionary<string, string>? Labels, bool? Enabled,
    string? MetricsUrl = null, string? HealthUrl = null, ProbeRequest? Probe = null)
{
    /// <summary>True when the request leaves the probe headers out, so an update keeps the stored ones.</summary>
    public bool KeepsProbeHeaders => Probe?.Headers is null;

    public McpServer? ToServer(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200) errors.Add("name", "is required, at most 200 characters");
        if (!IsHttpUrl(Endpoint))
        {
            errors.Add("endpoint", "is required: the absolute http(s) URL of the server's MCP endpoint");
        }
        if (MetricsUrl is not null && !IsHttpUrl(MetricsUrl)) errors.Add("metricsUrl", "must be an absolute http(s) URL of a Prometheus text endpoint");
        if (HealthUrl is not null && !IsHttpUrl(HealthUrl)) errors.Add("healthUrl", "must be an absolute http(s) URL answering with a health report");
        LabelRules.Check(Labels, "labels", errors);
        var probe = (Probe ?? new ProbeRequest(null, null, null, null, null)).ToSettings(errors);
        return errors.Any
            ? null
            : new McpServer(id!, Name!, Endpoint!, Labels ?? [], Enabled ?? true, default, default)
            {
                Probe = probe,
                MetricsUrl = MetricsUrl,
                HealthUrl = HealthUrl,
            };
    }

    /// <summary>An absolute http(s) URL with no control character: .NET's parser drops a line break silently, and the text kept would carry it.</summary>
    private static bool IsHttpUrl(string? text) =>
        text is { Length: <= 2048 } && !text.Any(char.IsControl) && Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}

/// <summary>The probe settings as the API shows them: header names only, never values.</summary>
public sealed record ProbeResponse(bool Enabled, string Interval, string Timeout, string[] HeaderNames, string[] ExpectedTools, string Transport, string? ProtocolVersion)
{
    public static ProbeResponse From(ProbeSettings p) => new(
        p.Enabled, Durations.Format(p.Interval), Durations.Format(p.Timeout), [.. p.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase)], p.ExpectedTools,
        TransportName(p.Transport), p.ProtocolVersion);

    public static string TransportName(ProbeTransport transport) => transport switch
    {
        ProbeTransport.Sse => "sse",
        ProbeTransport.StreamableHttp => "streamable-http",
        _ => "auto",
    };
}

public sealed record ServerResponse(
    string Id, string Name, string Endpoint, Dictionary<string, string> Labels, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    string? MetricsUrl, string? HealthUrl, ProbeResponse Probe)
{
    /// <summary>Where a discovered server came from (absent for one registered by hand).</summary>
    public OriginResponse? Discovered { get; init; }

    public static ServerResponse From(McpServer s) =>
        new(s.Id, s.Name, s.Endpoint, s.Labels, s.Enabled, s.CreatedAt, s.UpdatedAt, s.MetricsUrl, s.HealthUrl, ProbeResponse.From(s.Probe))
        {
            Discovered = OriginResponse.From(s.Origin),
        };
}

public sealed record OriginResponse(string Source, string Ref)
{
    public static OriginResponse? From(ServerOrigin? o) => o is null ? null : new(o.Source, o.Ref);
}

public sealed record HealthResponse(string Status, string[] Reasons);

public sealed record ToolSetChangeResponse(DateTimeOffset At, string[] Added, string[] Removed);

public sealed record ProbeResultResponse(
    DateTimeOffset At, string Outcome, double LatencySeconds, string? ProtocolVersion, string? LivenessMethod, string? ServerName,
    string? ServerVersion, int? ToolCount, int? HttpStatus, string? Error, bool SessionReused, string? Transport, string? TransportEndpoint)
{
    public static ProbeResultResponse? From(ProbeResult? p) => p is null ? null : new(
        p.At, Outcomes.Name(p.Outcome), p.LatencySeconds, p.ProtocolVersion, p.LivenessMethod, p.ServerName, p.ServerVersion,
        p.Tools?.Length, p.HttpStatus, p.Error, p.SessionReused,
        p.Era is { } era ? ProbeResponse.TransportName(era.Transport) : null, p.Era?.Endpoint);
}

public sealed record ScrapeResultResponse(DateTimeOffset At, string Outcome, double DurationSeconds, int Samples, int? HttpStatus, string? Error, string? DurationFamily)
{
    public static ScrapeResultResponse? From(ScrapeResult? s) => s is null ? null : new(
        s.At, Outcomes.Name(s.Outcome), s.DurationSeconds, s.Samples, s.HttpStatus, s.Error, s.Counters?.DurationFamily);
}

public sealed record HealthReportResponse(DateTimeOffset At, string Outcome, string Reported, string[] FailingChecks, int? HttpStatus, string? Error)
{
    public static HealthReportResponse? From(HealthReportResult? h) => h is null ? null : new(
        h.At, Outcomes.Name(h.Outcome), h.Reported.ToString().ToLowerInvariant(), h.FailingChecks, h.HttpStatus, h.Error);
}

public sealed record ServerStatusResponse(
    string Id, string Name, string Endpoint, Dictionary<string, string> Labels, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    string? MetricsUrl, string? HealthUrl, ProbeResponse Probe,
    HealthResponse Health, Dictionary<string, double> Metrics, DateTimeOffset? LastTelemetryAt, long RequestsInWindow, string[] OpenAlerts,
    ProbeResultResponse? LastProbe, ScrapeResultResponse? LastScrape, HealthReportResponse? LastHealthReport, string[] Tools,
    ToolSetChangeResponse? LastToolSetChange)
{
    public OriginResponse? Discovered { get; init; }

    public static ServerStatusResponse From(ServerStatus status)
    {
        var s = status.Server;
        return new(s.Id, s.Name, s.Endpoint, s.Labels, s.Enabled, s.CreatedAt, s.UpdatedAt, s.MetricsUrl, s.HealthUrl, ProbeResponse.From(s.Probe),
            new HealthResponse(status.Health.State.ToString().ToLowerInvariant(), status.Health.Reasons),
            status.Metrics, status.LastTelemetryAt, status.RequestsInWindow, status.OpenAlerts,
            ProbeResultResponse.From(status.LastProbe), ScrapeResultResponse.From(status.LastScrape),
            HealthReportResponse.From(status.LastHealthReport), status.Tools,
            status.LastToolSetChange is { } change ? new ToolSetChangeResponse(change.At, change.Added, change.Removed) : null)
        {
            Discovered = OriginResponse.From(s.Origin),
        };
    }
}

/// <summary>Outcome names as the API, logs and metrics spell them.</summary>
public static class Outcomes
{
    public static string Name(CheckOutcome outcome) => outcome.Label();
}

public static partial class LabelRules
{
    public const int MaxCount = 64;
    public const int MaxValueLength = 1024;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex NamePattern();

    public static void Check(Dictionary<string, string>? labels, string field, RequestErrors errors)
    {
        if (labels is null) return;
        if (labels.Count > MaxCount) errors.Add(field, $"has {labels.Count} entries; at most {MaxCount} are allowed");
        foreach (var (name, value) in labels)
        {
            if (!NamePattern().IsMatch(name)) errors.Add($"{field}.{name}", "label names are 1-128 of letters, digits and '_', not starting with a digit");
            if (value is null || value.Length > MaxValueLength) errors.Add($"{field}.{name}", $"label values are strings of at most {MaxValueLength} characters");
        }
    }
}

/// <summary>A server in the fleet listing: its registration, health verdict and reasons, main metrics and open alerts.</summary>
public sealed record ServerListItem(
    string Id, string Name, string Endpoint, Dictionary<string, string> Labels, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    HealthResponse Health, double? Up, Dictionary<string, double> Metrics, int OpenAlerts, DateTimeOffset ListedAt)
{
    public static ServerListItem From(Monitoring.Listings.ServerEntry e) => new(
        e.Server.Id, e.Server.Name, e.Server.Endpoint, e.Server.Labels, e.Server.Enabled, e.Server.CreatedAt, e.Server.UpdatedAt,
        new HealthResponse(e.Health, e.HealthReasons), e.Metrics.TryGetValue("up", out var up) ? up : null, e.Metrics, e.OpenAlerts, e.ListedAt);
}

/// <summary>The fleet listing's query: health, label matchers, text, a sort, a page.</summary>
public static class ServerQuery
{
    private static readonly string[] Healths = ["healthy", "degraded", "unhealthy", "unknown"];
    private static readonly string[] Sorts = ["id", "health", "openAlerts", .. Monitoring.Listings.ServerEntry.ListedMetrics];

    public static Monitoring.Listings.ListingQuery? From(string? health, string[]? labels, string? text, string? sort, string? order, int? limit, int? offset, RequestErrors errors)
    {
        Paging.TryPage(limit, offset, errors, out var take, out var skip);
        var filter = new Dictionary<string, string>();
        if (health is not null)
        {
            if (Healths.Contains(health)) filter["health"] = health;
            else errors.Add("health", $"'{Truncate(health)}' is not a health state; expected one of: {string.Join(", ", Healths)}");
        }
        var matchers = new List<Monitoring.Silences.Matcher>();
        foreach (var (label, i) in (labels ?? []).Select((l, i) => (l, i)))
        {
            if (i >= 16) { errors.Add("label", "at most 16 label matchers"); break; }
            if (Monitoring.Silences.MatcherText.TryParse(label, out var matcher, out var error)) matchers.Add(matcher);
            else errors.Add($"label[{i}]", error);
        }
        if (text is { Length: > 200 }) errors.Add("q", "is at most 200 characters");
        if (sort is not null && !Sorts.Contains(sort)) errors.Add("sort", $"'{Truncate(sort)}' cannot be sorted by; expected one of: {string.Join(", ", Sorts)}");
        if (order is not null and not ("asc" or "desc")) errors.Add("order", "is asc or desc");
        return errors.Any ? null : new Monitoring.Listings.ListingQuery(take, skip)
        {
            Filter = filter,
            Matchers = [.. matchers],
            Text = string.IsNullOrWhiteSpace(text) ? null : text.Trim(),
            SortBy = sort is null or "id" or "health" ? null : sort,
            Descending = order == "desc",
            WorstFirst = sort == "health" ? Monitoring.Listings.ServerEntry.WorstFirst : [],
        };
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
