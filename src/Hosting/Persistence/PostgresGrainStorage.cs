using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// Grain state in PostgreSQL through Npgsql: one row per grain type, grain key and state name, the state as JSONB,
/// and a version for optimistic concurrency. Keys are stored as text, whatever they look like (the ADO.NET
/// provider's pitfalls: rows keyed without the grain type, hex-looking strings stored as numbers, do not apply).
/// A write whose version is not the stored one fails with <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class PostgresGrainStorage(string name, NpgsqlDataSource dataSource, string schema) : IGrainStorage
{
    public static readonly JsonSerializerOptions Json = new()
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly string _table = $"{Schema.Quote(schema)}.grain_state";

    public string Name => name;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        StorageErrors.Guard(name, "read", () => ReadAsync(stateName, grainId, grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        StorageErrors.Guard(name, "write", () => WriteAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        StorageErrors.Guard(name, "clear", () => ClearAsync(stateName, grainId, grainState));

    private async Task ReadAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT payload, version, state_version FROM {_table} WHERE grain_type = @type AND grain_key = @key AND state_name = @state");
        AddKey(command, stateName, grainId);
        await using var reader = await command.ExecuteReaderAsync();
        if (await reader.ReadAsync())
        {
            var payload = reader.GetString(0);
            var stored = reader.GetInt32(2);
            grainState.State = (stored < StateMigrations.CurrentVersion(grainId.Type.ToString()!, stateName)
                ? StateMigrations.Upgrade(grainId.Type.ToString()!, stateName, stored, payload).Deserialize<T>(Json)
                : JsonSerializer.Deserialize<T>(payload, Json)) ?? Activator.CreateInstance<T>();
            grainState.ETag = reader.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    private async Task WriteAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = JsonSerializer.Serialize(grainState.State, Json);
        NpgsqlCommand command;
        if (grainState.ETag is null)
        {
            command = dataSource.CreateCommand(
                $"INSERT INTO {_table} (grain_type, grain_key, state_name, payload, version, state_version) VALUES (@type, @key, @state, @payload, 1, @stateVersion) " +
                "ON CONFLICT DO NOTHING RETURNING version");
        }
        else
        {
            command = dataSource.CreateCommand(
                $"UPDATE {_table} SET payload = @payload, version = version + 1, state_version = @stateVersion, updated_at = now() " +
                "WHERE grain_type = @type AND grain_key = @key AND state_name = @state AND version = @version RETURNING version");
            command.Parameters.AddWithValue("version", long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture));
        }
        await using (command)
        {
            AddKey(command, stateName, grainId);
            command.Parameters.Add(new NpgsqlParameter("payload", NpgsqlDbType.Jsonb) { Value = payload });
            command.Parameters.AddWithValue("stateVersion", StateMigrations.CurrentVersion(grainId.Type.ToString()!, stateName));
            var version = await command.ExecuteScalarAsync();
            if (version is not long written)
            {
                throw new InconsistentStateException(
                    $"{name}: state '{stateName}' of {grainId} changed since it was read (version {grainState.ETag ?? "none"})",
                    grainState.ETag ?? "none", grainState.ETag ?? "none");
            }
            grainState.ETag = written.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
    }

    private async Task ClearAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.ETag is not null)
        {
            await using var command = dataSource.CreateCommand(
                $"DELETE FROM {_table} WHERE grain_type = @type AND grain_key = @key AND state_name = @state AND version = @version");
            AddKey(command, stateName, grainId);
            command.Parameters.AddWithValue("version", long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture));
            if (await command.ExecuteNonQueryAsync() == 0)
            {
                throw new InconsistentStateException(
                    $"{name}: state '{stateName}' of {grainId} changed since it was read (version {grainState.ETag})", grainState.ETag, grainState.ETag);
            }
        }
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static void AddKey(NpgsqlCommand command, string stateName, GrainId grainId)
    {
        command.Parameters.AddWithValue("type", grainId.Type.ToString()!);
        command.Parameters.AddWithValue("key", grainId.Key.ToString()!);
        command.Parameters.AddWithValue("state", stateName);
    }
}
