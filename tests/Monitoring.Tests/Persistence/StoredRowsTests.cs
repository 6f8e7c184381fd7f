using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.External;
using Monitoring.Hosting.Persistence;
using Monitoring.Tests.Cluster;
using Monitoring.Tests.Support;
using Npgsql;
using NpgsqlTypes;

namespace Monitoring.Tests.Persistence;

/// <summary>
/// Rows written by an older version (Data/rows-before-pinning.json: grain state, listings and the key ring as commit
/// 4b5593a wrote them, before persisted names were pinned) load in today's production cluster.
/// </summary>
[Collection(ProductionClusterCollection.Name)]
public sealed class StoredRowsTests
{
    internal static async Task LoadAsync(string connectionString, string schema, string file)
    {
        await using var data = NpgsqlDataSource.Create(connectionString);
        await Schema.MigrateAsync(data, schema);
        var rows = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        foreach (var row in rows.Select(r => r!.AsObject()))
        {
            await using var command = (string)row["table"]! switch
            {
                "grain_state" => data.CreateCommand($"INSERT INTO {schema}.grain_state (grain_type, grain_key, state_name, payload, version) VALUES ($1, $2, $3, $4, 1)"),
                "listing" => data.CreateCommand($"INSERT INTO {schema}.listing (kind, id, version, fields, payload) VALUES ($1, $2, $3, $4, $5)"),
                _ => data.CreateCommand($"INSERT INTO {schema}.data_protection_keys (name, xml) VALUES ($1, $2)"),
            };
            switch ((string)row["table"]!)
            {
                case "grain_state":
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["grain_type"]! });
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["grain_key"]! });
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["state_name"]! });
                    command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = row["payload"]!.ToJsonString() });
                    break;
                case "listing":
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["kind"]! });
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["id"]! });
                    command.Parameters.Add(new NpgsqlParameter { Value = (long)row["version"]! });
                    command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = row["fields"]!.ToJsonString() });
                    command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = row["payload"]!.ToJsonString() });
                    break;
                default:
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["name"]! });
                    command.Parameters.Add(new NpgsqlParameter { Value = (string)row["xml"]! });
                    break;
            }
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task Rows_written_before_the_names_were_pinned_still_load()
    {
        var file = Repository.PathTo("tests", "Monitoring.Tests", "Persistence", "Data", "rows-before-pinning.json");
        // The rows keep the times they were captured at; a channel prunes finished deliveries older than a day when it
        // activates, so the retention is stretched here or the captured deliveries would be gone a day later.
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, seed: (connection, schema) => LoadAsync(connection, schema, file),
            ("Notifications__DedupRetention", "3650.00:00:00"));
        var http = cluster.Http;

        var servers = await http.GetFromJsonAsync<JsonElement>("/api/servers");
        Assert.Equal(["mcp-1", "mcp-2"], servers.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        var server = await http.GetFromJsonAsync<JsonElement>("/api/servers/mcp-1");
        Assert.Equal("search", server.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal(["Authorization"], server.GetProperty("probe").GetProperty("headerNames").EnumerateArray().Select(h => h.GetString()));
        Assert.Contains("search", server.GetProperty("tools").EnumerateArray().Select(t => t.GetString()));

        var rules = await http.GetFromJsonAsync<JsonElement>("/api/rules");
        Assert.Equal(["high-error-rate", "slow"], rules.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var rule = await http.GetFromJsonAsync<JsonElement>("/api/rules/high-error-rate");
        Assert.Equal("{{ rule_name }} on {{ server_id }}", rule.GetProperty("subjectTemplate").GetString());

        // The channel's config was sealed with the captured key ring: it opens, and its secret stays redacted.
        var channel = await http.GetFromJsonAsync<JsonElement>("/api/channels/ops");
        Assert.Equal("<redacted>", channel.GetProperty("config").GetProperty("signingSecret").GetString());
        Assert.Equal(60, channel.GetProperty("config").GetProperty("rateLimit").GetProperty("perMinute").GetInt32());
        Assert.NotEmpty((await http.GetFromJsonAsync<JsonElement>("/api/channels/ops/deliveries")).GetProperty("items").EnumerateArray());

        var policy = await http.GetFromJsonAsync<JsonElement>("/api/escalation-policies/oncall");
        Assert.Equal(2, policy.GetProperty("levels").GetArrayLength());
        var silences = await http.GetFromJsonAsync<JsonElement>("/api/silences");
        Assert.Contains(silences.GetProperty("items").EnumerateArray(), s => s.GetProperty("createdBy").GetString() == "alice");
        var keys = await http.GetFromJsonAsync<JsonElement>("/api/keys");
        Assert.Contains(keys.GetProperty("items").EnumerateArray(), k => k.GetProperty("name").GetString() == "ci");

        // The alert's version-1 document was migrated (lifecycle moved into Life); a fresh evaluation with no data
        // leaves it as it was: firing, acknowledged by alice.
        Assert.True((await http.PostAsync("/api/servers/mcp-1/check", null)).IsSuccessStatusCode);
        var alert = await http.GetFromJsonAsync<JsonElement>("/api/alerts/high-error-rate:mcp-1");
        Assert.Equal("acknowledged", alert.GetProperty("status").GetString());
        Assert.Equal(1, alert.GetProperty("episode").GetInt32());
        Assert.Equal("alice", alert.GetProperty("acknowledgedBy").GetString());
        Assert.Contains(alert.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("reason").GetString() == "acknowledged by alice");
        Assert.NotEmpty((await http.GetFromJsonAsync<JsonElement>("/api/alerts/high-error-rate:mcp-1/notifications")).GetProperty("items").EnumerateArray());
    }
    [Fact]
    public async Task External_alerts_stored_in_their_partition_state_move_into_rows_and_still_fire()
    {
        // A partition as the version before the row store left it: its alerts inside its grain state.
        var labels = new Dictionary<string, string> { ["alertname"] = "GatewayDown", ["instance"] = "a:9090" };
        var fingerprint = ExternalAlerts.Fingerprint(labels);
        var partition = ExternalAlerts.PartitionOf(fingerprint);
        var now = DateTimeOffset.UtcNow;
        var legacy = new ExternalAlertsState
        {
            Alerts =
            {
                [fingerprint] = new ExternalAlertRecord
                {
                    Labels = labels, Annotations = new() { ["summary"] = "gateway a is down" }, StartsAt = now.AddMinutes(-5), EndsAt = now.AddHours(2),
                    UpdatedAt = now.AddMinutes(-5), Episode = 1, Sequence = 1, ReportedStatus = Monitoring.Routing.MemberStatus.Firing, ReportedEpisode = 1,
                },
            },
        };
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, seed: async (connection, schema) =>
        {
            await using var data = NpgsqlDataSource.Create(connection);
            await Schema.MigrateAsync(data, schema);
            await using var insert = data.CreateCommand($"INSERT INTO {schema}.grain_state (grain_type, grain_key, state_name, payload, version) VALUES ('externalalerts', $1, 'externalalerts', $2, 1)");
            insert.Parameters.Add(new NpgsqlParameter { Value = GrainIdKeyExtensions.CreateIntegerKey(partition).ToString() });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(legacy, PostgresGrainStorage.Json) });
            await insert.ExecuteNonQueryAsync();
        });

        var alerts = await cluster.Http.GetFromJsonAsync<JsonElement>("/api/v2/alerts");
        var alert = Assert.Single(alerts.EnumerateArray());
        Assert.Equal(fingerprint, alert.GetProperty("fingerprint").GetString());
        Assert.Equal("active", alert.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal("gateway a is down", alert.GetProperty("annotations").GetProperty("summary").GetString());

        // It moved: a row of its own, and the partition's state is empty.
        await using var db = NpgsqlDataSource.Create(cluster.PostgresConnectionString);
        await using (var rows = db.CreateCommand($"SELECT partition, payload->'Labels'->>'instance' FROM {cluster.Schema}.external_alert WHERE fingerprint = $1"))
        {
            rows.Parameters.Add(new NpgsqlParameter { Value = fingerprint });
            await using var reader = await rows.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(partition, reader.GetInt32(0));
            Assert.Equal("a:9090", reader.GetString(1));
        }
        await using (var state = db.CreateCommand($"SELECT payload->'Alerts' FROM {cluster.Schema}.grain_state WHERE grain_type = 'externalalerts'"))
        {
            Assert.Equal("{}", (string?)await state.ExecuteScalarAsync());
        }
    }
}
