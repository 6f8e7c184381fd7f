using Monitoring.Api.Config.Documents;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Monitoring.Cli;

/// <summary>
/// Where the cluster is and the key to present: from the flags, else the environment (MCP_ALERTING_URL,
/// MCP_ALERTING_API_KEY), else the profile's file (~/.config/mcp-alerting/config.json: {"server": ..., "apiKey": ...}),
/// else the local product at http://127.0.0.1:5080 with no key.
/// </summary>
public sealed record Connection(Uri Server, string? ApiKey)
{
    public const string DefaultServer = "http://127.0.0.1:5080";

    public static string ProfileFile => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "mcp-alerting", "config.json");

    public static Connection Resolve(string? server, string? apiKey)
    {
        JsonObject? profile = null;
        if (File.Exists(ProfileFile))
        {
            try { profile = JsonNode.Parse(File.ReadAllText(ProfileFile)) as JsonObject; }
            catch (JsonException) { throw new CliException($"{ProfileFile} is not a JSON object like {{\"server\": \"https://alerts.example.com\", \"apiKey\": \"...\"}}"); }
        }
        var url = server ?? Environment.GetEnvironmentVariable("MCP_ALERTING_URL") ?? (string?)profile?["server"] ?? DefaultServer;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliException($"the server '{url}' is not an absolute http(s) URL");
        }
        return new Connection(uri, apiKey ?? Environment.GetEnvironmentVariable("MCP_ALERTING_API_KEY") ?? (string?)profile?["apiKey"]);
    }
}

/// <summary>A failure to report and exit 1 with: a message, and the file errors it carries.</summary>
public sealed class CliException(string message, IReadOnlyList<FileError>? errors = null) : Exception(message)
{
    public IReadOnlyList<FileError> Errors { get; } = errors ?? [];
}

/// <summary>An answer from the cluster: status, body, ETag.</summary>
public sealed record Answer(int Status, JsonNode? Body, string? ETag)
{
    public bool Ok => Status is >= 200 and < 300;
}

/// <summary>The cluster's HTTP API, as the command line uses it.</summary>
public sealed class ClusterClient(Connection connection) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = connection.Server, Timeout = TimeSpan.FromMinutes(10) };

    public async Task<Answer> SendAsync(HttpMethod method, string path, JsonNode? body = null, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (connection.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach {connection.Server}: {e.Message}");
        }
        catch (TaskCanceledException)
        {
            throw new CliException($"{connection.Server} did not answer in time");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            JsonNode? parsed = null;
            if (text.Length > 0)
            {
                try { parsed = JsonNode.Parse(text); }
                catch (JsonException) { parsed = JsonValue.Create(text); }
            }
            return new Answer((int)response.StatusCode, parsed, response.Headers.ETag?.Tag);
        }
    }

    public void Dispose() => _http.Dispose();
}
