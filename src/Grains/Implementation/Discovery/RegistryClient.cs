using System.Globalization;
using System.Text.Json;

namespace Monitoring.Discovery;

/// <summary>One server version as a registry lists it: its name, title, status and remote endpoints.</summary>
public sealed record RegistryEntry(string Name, string? Title, string Status, (string Type, string Url)[] Remotes);

/// <summary>
/// Reads a registry that serves the MCP Registry API: <c>GET /v0.1/servers?version=latest&amp;limit=100</c>, page by
/// page through <c>metadata.nextCursor</c>, and with <c>updated_since</c> (and <c>include_deleted</c>) for the
/// changes since a time. Takes both the v0.1 shape (each item <c>{server, _meta}</c>) and v0's flat one. Every request
/// passes the outbound guard.
/// </summary>
public sealed class RegistryClient(IHttpClientFactory clients)
{
    public const string HttpClientName = "discovery";
    private const int PageSize = 100;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public async Task<IReadOnlyList<RegistryEntry>> ListAsync(string baseUrl, DateTimeOffset? updatedSince, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(HttpClientName);
        var entries = new List<RegistryEntry>();
        string? cursor = null;
        for (var page = 0; page < DiscoverySource.MaxServers / PageSize + 1; page++)
        {
            var query = $"version=latest&limit={PageSize}"
                + (updatedSince is { } since ? $"&updated_since={Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))}&include_deleted=true" : "")
                + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            using var response = await http.GetAsync($"{baseUrl.TrimEnd('/')}/v0.1/servers?{query}", timeout.Token);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"the registry answered {(int)response.StatusCode} {response.ReasonPhrase}");
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(timeout.Token), cancellationToken: timeout.Token);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("servers", out var servers) || servers.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("the registry's answer has no \"servers\" list");
            }
            foreach (var item in servers.EnumerateArray()) if (Read(item) is { } entry) entries.Add(entry);
            cursor = root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            if (string.IsNullOrEmpty(cursor)) return entries;
        }
        throw new FormatException($"the registry lists more than {DiscoverySource.MaxServers} servers");
    }

    private static RegistryEntry? Read(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object) return null;
        var server = item.TryGetProperty("server", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : item;
        if (Text(server, "name") is not { Length: > 0 } name) return null;
        var status = "active";
        foreach (var holder in new[] { item, server })
        {
            if (holder.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
                && meta.TryGetProperty("io.modelcontextprotocol.registry/official", out var official) && official.ValueKind == JsonValueKind.Object)
            {
                status = Text(official, "status") ?? status;
                if (official.TryGetProperty("isLatest", out var latest) && latest.ValueKind == JsonValueKind.False) return null;
            }
        }
        status = Text(server, "status") ?? status;
        var remotes = new List<(string, string)>();
        if (server.TryGetProperty("remotes", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var remote in list.EnumerateArray())
            {
                if (remote.ValueKind != JsonValueKind.Object) continue;
                var type = Text(remote, "type") ?? Text(remote, "transport_type");
                if (type is not null && Text(remote, "url") is { } url) remotes.Add((type, url));
            }
        }
        return new RegistryEntry(name, Text(server, "title"), status, [.. remotes]);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
