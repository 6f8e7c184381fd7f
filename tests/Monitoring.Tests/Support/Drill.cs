using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Monitoring.Tests.Support;

/// <summary>
/// What the drills on real processes share: an at-least-once client (it sends again after a 503 or no answer, as a
/// collector does), and the reading of the webhook receiver (which alert a message is about, and of what kind).
/// </summary>
public static class Drill
{
    public static int Resolved(WebhookReceiver hooks, string path) => hooks.At(path).Where(h => Kind(h) == "resolved").Select(AlertOf).Distinct().Count();

    public static string Kind(ReceivedHook hook) => hook.Body.GetProperty("context").GetProperty("notification").GetString()!;

    public static string AlertOf(ReceivedHook hook) => hook.Body.GetProperty("alert").GetProperty("id").GetString()!;

    /// <summary>The silo an activation lives on, as the cluster API says.</summary>
    public static async Task<string?> LocateAsync(HttpClient http, string kind, string key) =>
        (await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/{kind}/{key}")).GetProperty("silo").GetString();

    public static async Task Created(HttpClient http, string url, string body) => await SendAsync(http, HttpMethod.Post, url, body, HttpStatusCode.Created);

    /// <summary>
    /// An at-least-once client: sends again after a 503 (with its Retry-After) or no answer, until <paramref name="within"/>
    /// (a minute unless given) has passed; answers how many times it sent again. Any other status than the expected fails the test.
    /// </summary>
    public static Task<int> SendAsync(HttpClient http, HttpMethod method, string url, string? body, params HttpStatusCode[] expected) =>
        SendAsync(http, method, url, body, TimeSpan.FromSeconds(60), expected);

    public static async Task<int> SendAsync(HttpClient http, HttpMethod method, string url, string? body, TimeSpan within, params HttpStatusCode[] expected)
    {
        var deadline = DateTime.UtcNow + within;
        for (var again = 0; ; again++)
        {
            try
            {
                using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
                using var response = await http.SendAsync(request);
                if (expected.Contains(response.StatusCode)) return again;
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(200));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>A grain's stored row (its version, when it was written, and the payload without the window's bytes), for a failure's diagnostics.</summary>
    public static async Task<string> StoredAsync(ProcessCluster cluster, string grainType, string key, string stateName)
    {
        await using var database = Npgsql.NpgsqlDataSource.Create(cluster.PostgresConnectionString);
        await using var command = database.CreateCommand(
            $"SELECT version, updated_at, CASE WHEN state_name = 'window' THEN length(payload::text)::text ELSE payload::text END FROM {cluster.Schema}.grain_state " +
            "WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = grainType });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = key });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = stateName });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? $"v{reader.GetInt64(0)} at {reader.GetDateTime(1):HH:mm:ss.fff}: {reader.GetString(2)}" : "none";
    }

}
