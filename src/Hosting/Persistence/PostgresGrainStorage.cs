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
/// A write whose version is not the stored one fails with <see cref="InconsistentStateException"/>. Statements go
/// through the silo's <see cref="StatementBatcher"/>, so concurrent grains share round trips and commits.
/// </summary>
public sealed class PostgresGrainStorage(string name, StatementBatcher batcher, string schema) : IGrainStorage
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
        var grainType = grainId.Type.ToString()!;
        var row = await batcher.RunAsync(
            $"SELECT payload, version, state_version FROM {_table} WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3",
            [grainType, grainId.Key.ToString()!, stateName],
            async reader => await reader.ReadAsync() ? (Payload: reader.GetString(0), Version: reader.GetInt64(1), StateVersion: reader.GetInt32(2)) : default((string Payload, long Version, int StateVersion)?));
        if (row is { } found)
        {
            grainState.State = (found.StateVersion < StateMigrations.CurrentVersion(grainType, stateName)
                ? StateMigrations.Upgrade(grainType, stateName, found.StateVersion, found.Payload).Deserialize<T>(Json)
                : JsonSerializer.Deserialize<T>(found.Payload, Json)) ?? Activator.CreateInstance<T>();
            grainState.ETag = found.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
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
        var grainType = grainId.Type.ToString()!;
        var payload = StatementBatcher.Parameter.Jsonb(JsonSerializer.Serialize(grainState.State, Json));
        var stateVersion = StateMigrations.CurrentVersion(grainType, stateName);
        var (sql, parameters) = grainState.ETag is null
            ? ($"INSERT INTO {_table} (grain_type, grain_key, state_name, payload, version, state_version) VALUES ($1, $2, $3, $4, 1, $5) " +
                "ON CONFLICT DO NOTHING RETURNING version",
                new StatementBatcher.Parameter[] { grainType, grainId.Key.ToString()!, stateName, payload, stateVersion })
            : ($"UPDATE {_table} SET payload = $4, version = version + 1, state_version = $5, updated_at = now() " +
                "WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND version = $6 RETURNING version",
                [grainType, grainId.Key.ToString()!, stateName, payload, stateVersion, long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture)]);
        var written = await batcher.RunAsync(sql, parameters, async reader => await reader.ReadAsync() ? reader.GetInt64(0) : (long?)null);
        if (written is not { } version)
        {
            throw new InconsistentStateException(
                $"{name}: state '{stateName}' of {grainId} changed since it was read (version {grainState.ETag ?? "none"})",
                grainState.ETag ?? "none", grainState.ETag ?? "none");
        }
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    private async Task ClearAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.ETag is not null)
        {
            var deleted = await batcher.ExecuteAsync(
                $"DELETE FROM {_table} WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND version = $4 RETURNING 1",
                grainId.Type.ToString()!, grainId.Key.ToString()!, stateName, long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture));
            if (deleted == 0)
            {
                throw new InconsistentStateException(
                    $"{name}: state '{stateName}' of {grainId} changed since it was read (version {grainState.ETag})", grainState.ETag, grainState.ETag);
            }
        }
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }
}
