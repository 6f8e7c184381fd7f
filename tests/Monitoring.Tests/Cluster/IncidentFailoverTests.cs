using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Cluster;

/// <summary>
/// An incident on real processes, its silo killed at the two moments that matter: while its group waits, and after its
/// group decided and stored the message but before the channel took it. Either way the grouped message arrives once.
/// Requests go through the drills' at-least-once client: on a loaded machine a silo still warming up can answer 503
/// (a grain call past the API's 8 s timeout), which says "send it again", as a client would.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class IncidentFailoverTests(ITestOutputHelper output)
{
    private const int Servers = 12;

    [Fact]
    public async Task A_silo_killed_while_an_incident_waits_sends_the_grouped_message_once()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        await ConfigureAsync(http, hooks, id, "12s", Servers);
        await BreachAsync(http, id, Servers);

        var incident = await IncidentOfAsync(http, id);
        await Eventually.TrueAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>($"/api/incidents/{incident}")).GetProperty("firing").GetInt32() == Servers, "every alert in the incident", TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // joins are stored behind, within a second

        var silo = (await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/incident/{incident}")).GetProperty("silo").GetString()!;
        var victim = cluster.Silos.Single(s => silo.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        Assert.Empty(hooks.At($"/{id}/ops")); // still waiting
        victim.Kill();

        var message = (await hooks.WaitForAsync($"/{id}/ops", 1, TimeSpan.FromSeconds(60))).Single();
        Assert.Equal(Servers, message.Body.GetProperty("incident").GetProperty("firing").GetInt32());
        Assert.Equal(incident, message.Body.GetProperty("incident").GetProperty("id").GetString());
        await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/ops").Count > 1, "a second grouped message", TimeSpan.FromSeconds(8));
        output.WriteLine($"killed {victim.Name} holding incident {incident} of {Servers} alerts during group_wait: 1 grouped message listing {Servers}");
    }

    [Fact]
    public async Task A_silo_killed_between_a_groups_decision_and_its_hand_off_sends_the_grouped_message_once()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        const int servers = 4;
        await ConfigureAsync(http, hooks, id, "6s", servers);

        // The channel's delivery workers record each message in the outbox table before they answer the hand-off. A
        // lock on that table holds the hand-off in flight: the incident has decided and stored, and nobody has taken it.
        await using var database = Npgsql.NpgsqlDataSource.Create(cluster.PostgresConnectionString);
        await using var holder = await database.OpenConnectionAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockTable = new Npgsql.NpgsqlCommand($"LOCK TABLE {cluster.Schema}.outbox IN EXCLUSIVE MODE", holder, hold)) await lockTable.ExecuteNonQueryAsync();

        await BreachAsync(http, id, servers);
        var incident = await IncidentOfAsync(http, id);
        var silo = (await http.GetFromJsonAsync<JsonElement>($"/api/cluster/activations/incident/{incident}")).GetProperty("silo").GetString()!;

        // After the group wait the incident decides: its stored row holds the message, and the hand-off waits on the lock.
        await Eventually.TrueAsync(async () =>
        {
            await using var waiting = database.CreateCommand($"SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '{cluster.Schema}.outbox'::regclass");
            return (long)(await waiting.ExecuteScalarAsync())! > 0;
        }, "the hand-off waiting on the outbox", TimeSpan.FromSeconds(30));
        await using (var stored = database.CreateCommand(
            $"SELECT jsonb_array_length(payload->'Outbox') FROM {cluster.Schema}.grain_state WHERE grain_type = 'incident' AND grain_key = '{incident}' AND state_name = 'incident'"))
        {
            Assert.Equal(1, (int)(await stored.ExecuteScalarAsync())!);
        }
        Assert.Empty(hooks.At($"/{id}/ops"));

        var victim = cluster.Silos.Single(s => silo.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        victim.Kill();
        await hold.RollbackAsync();

        var message = (await hooks.WaitForAsync($"/{id}/ops", 1, TimeSpan.FromSeconds(90))).Single();
        Assert.Equal(servers, message.Body.GetProperty("incident").GetProperty("firing").GetInt32());
        Assert.Equal(incident, message.Body.GetProperty("incident").GetProperty("id").GetString());
        try
        {
            await Eventually.StaysFalseAsync(() => hooks.At($"/{id}/ops").Count > 1, "a second grouped message", TimeSpan.FromSeconds(8));
        }
        catch
        {
            // What each message was: a resend of the same one (its key) or another (its kind and counts).
            foreach (var hook in hooks.At($"/{id}/ops"))
            {
                output.WriteLine($"{hook.At:HH:mm:ss.fff} {string.Join(",", hook.Headers.Where(h => h.Key.Contains("dempot", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value))} {hook.RawBody[..Math.Min(600, hook.RawBody.Length)]}");
            }
            output.WriteLine(cluster.Diagnostics());
            throw;
        }
        output.WriteLine($"killed {victim.Name} holding incident {incident} after it stored its message and before its channel took it: 1 grouped message");
    }

    /// <summary>
    /// The incident index stores behind (every 5 s at most). Its silo killed at once after incidents open loses their
    /// summaries; each incident says its summary again on its reminder, so the listing shows every open incident again
    /// within a reminder period (5 s here) of the index's move.
    /// </summary>
    [Fact]
    public async Task The_incident_index_lost_with_its_silo_lists_every_open_incident_again_within_a_reminder_period()
    {
        await using var hooks = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 3);
        var http = cluster.Http;
        var id = Guid.NewGuid().ToString("N")[..6];
        const int servers = 9;
        await Drill.SendAsync(http, HttpMethod.Post, "/api/channels", $$"""{"id":"ops-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/ops")}}"} }""", HttpStatusCode.Created);
        await Drill.SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
            {"route":{"groupBy":["server_id"],"routes":[{"matchers":["t={{id}}"],"receiver":"ops","groupWait":"0s"}]},
             "receivers":[{"name":"ops","channels":["ops-{{id}}"]}]}
            """, HttpStatusCode.OK);
        await Drill.SendAsync(http, HttpMethod.Post, "/api/rules", $$"""{"id":"r-{{id}}","name":"Index {{id}}","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"t":"{{id}}"} }""", HttpStatusCode.Created);
        for (var i = 0; i < servers; i++)
        {
            await Drill.SendAsync(http, HttpMethod.Post, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""", HttpStatusCode.Created);
        }
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // every silo's routing copy has the new tree (refreshed each second)
        // The index is awake and quiet before the storm, so its next write is 5 s after the first summary below.
        _ = await http.GetStringAsync("/api/incidents");
        await Task.Delay(TimeSpan.FromSeconds(6));

        await BreachAsync(http, id, servers);
        await hooks.WaitForAsync($"/{id}/ops", servers, TimeSpan.FromSeconds(20));
        var holder = (await http.GetFromJsonAsync<JsonElement>("/api/cluster/activations/incidentindex/all")).GetProperty("silo").GetString()!;
        var victim = cluster.Silos.Single(s => holder.Contains($":{s.SiloPort}:", StringComparison.Ordinal));
        await using var database = Npgsql.NpgsqlDataSource.Create(cluster.PostgresConnectionString);
        await using var stored = database.CreateCommand(
            $"SELECT count(*) FROM {cluster.Schema}.grain_state, jsonb_object_keys(payload->'Incidents') AS k WHERE grain_type = 'incidentindex' AND state_name = 'incidents'");
        var storedBefore = (long)(await stored.ExecuteScalarAsync())!;
        victim.Kill();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        output.WriteLine($"the stored index held {storedBefore} incidents when its silo was killed");
        Assert.True(storedBefore < servers, $"the stored index already held {storedBefore} incidents: the drill would prove nothing");

        int Listed(JsonElement page) => page.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("route").GetString()!.Length > 0
            && i.GetProperty("groupLabels").TryGetProperty("server_id", out var server) && server.GetString()!.EndsWith($"-{id}", StringComparison.Ordinal)
            && i.GetProperty("status").GetString() == "open");
        var seen = new List<int>();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                seen.Add(Listed(await http.GetFromJsonAsync<JsonElement>("/api/incidents?status=open&limit=500")));
                return seen[^1] == servers;
            }
            catch (HttpRequestException)
            {
                return false; // the index moving
            }
        }, "every open incident listed again", TimeSpan.FromSeconds(60));
        output.WriteLine($"killed {victim.Name} holding the incident index after {servers} incidents opened; listings after: {string.Join(", ", seen.Distinct())}; " +
            $"all {servers} listed again {clock.Elapsed.TotalSeconds:F1}s after the kill");
    }

    /// <summary>A webhook channel, a route grouping by alert name with this group wait, a rule, and servers labelled for it.</summary>
    private static async Task ConfigureAsync(HttpClient http, WebhookReceiver hooks, string id, string groupWait, int servers)
    {
        await Drill.SendAsync(http, HttpMethod.Post, "/api/channels", $$"""{"id":"ops-{{id}}","type":"webhook","config":{"url":"{{hooks.UrlFor($"/{id}/ops")}}"} }""", HttpStatusCode.Created);
        await Drill.SendAsync(http, HttpMethod.Put, "/api/routing", $$"""
            {"route":{"groupBy":["alertname"],"routes":[{"matchers":["t={{id}}"],"receiver":"ops","groupWait":"{{groupWait}}"}]},
             "receivers":[{"name":"ops","channels":["ops-{{id}}"]}]}
            """, HttpStatusCode.OK);
        await Drill.SendAsync(http, HttpMethod.Post, "/api/rules", $$"""{"id":"r-{{id}}","name":"Storm {{id}}","condition":"error_rate > 0.05","severity":"critical","channels":[],"selector":{"t":"{{id}}"} }""", HttpStatusCode.Created);
        for (var i = 0; i < servers; i++)
        {
            await Drill.SendAsync(http, HttpMethod.Post, "/api/servers", $$"""{"id":"s{{i}}-{{id}}","name":"S{{i}}","endpoint":"http://127.0.0.1:9/mcp","labels":{"t":"{{id}}"},"probe":{"enabled":false} }""", HttpStatusCode.Created);
        }
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // every silo's routing copy has the new tree (refreshed each second)
    }

    private static async Task BreachAsync(HttpClient http, string id, int servers)
    {
        for (var i = 0; i < servers; i++)
        {
            await Drill.SendAsync(http, HttpMethod.Post, $"/api/servers/s{i}-{id}/telemetry", """{"requests":[{"method":"tools/call","tool":"search","durationMs":50,"success":false}]}""", HttpStatusCode.Accepted);
        }
    }

    /// <summary>The incident the first server's alert joined.</summary>
    private static async Task<string> IncidentOfAsync(HttpClient http, string id)
    {
        string? incident = null;
        await Eventually.TrueAsync(async () =>
        {
            var alert = await http.GetFromJsonAsync<JsonElement>($"/api/alerts/r-{id}:s0-{id}");
            incident = alert.TryGetProperty("incidents", out var list) && list.GetArrayLength() == 1 ? list[0].GetString() : null;
            return incident is not null;
        }, "the alerts joining an incident", TimeSpan.FromSeconds(20));
        return incident!;
    }
}
