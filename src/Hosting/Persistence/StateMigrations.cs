using System.Text.Json;
using System.Text.Json.Nodes;

namespace Monitoring.Hosting.Persistence;

/// <summary>One step that brings a stored document from the version before <see cref="To"/> up to it.</summary>
public sealed record StateMigration(int To, string Why, Action<JsonObject> Apply);

/// <summary>
/// Upgrades of stored grain state, by grain type and state name. A row remembers the shape version it was written
/// with (grain_state.state_version, 1 before any migration); reading a row older than the code applies the steps
/// in order, and the next write stores the current shape. Names stay pinned ([GrainType], [JsonPropertyName]):
/// a migration is for a change of shape, never for a rename.
/// </summary>
public static class StateMigrations
{
    private static readonly Dictionary<(string GrainType, string State), StateMigration[]> Steps = new()
    {
        [("alert", "alert")] = [new StateMigration(2, "the lifecycle moved into Life, its episode's paging into Life.Paging", AlertStateV2)],
    };

    /// <summary>
    /// Version 1 kept every lifecycle field at the top of the alert's document. Version 2 keeps them in "Life", and
    /// the episode's paging in "Life.Paging"; a rule's simple escalateAfter becomes the episode's policy, at the step
    /// it had reached.
    /// </summary>
    private static void AlertStateV2(JsonObject doc)
    {
        JsonNode? Take(string name)
        {
            var value = doc[name];
            doc.Remove(name);
            return value;
        }
        var life = new JsonObject();
        foreach (var name in new[] { "Phase", "Episode", "PendingSince", "FiredAt", "ResolvedAt", "SuppressedUntil", "LastObservedAt", "Values",
                     "SilencedBy", "SilencedUntil", "Sequence", "NotificationCount", "LastNotifiedAt" })
        {
            if (Take(name) is { } value) life[name] = value;
        }
        life["LastCondition"] = Take("LastHeld")?.GetValue<bool>() == true ? "Holds" : "Clear";
        var paging = new JsonObject();
        foreach (var name in new[] { "FiringNotified", "LastFiringNotifiedAt", "AcknowledgedAt", "AcknowledgedBy", "EscalatedAt", "Policy", "PolicyStep",
                     "NextPolicyStepAt", "NotifiedChannels" })
        {
            if (Take(name) is { } value) paging[name] = value;
        }
        if (Take("FiringSilenced") is { } withheld) paging["FiringWithheld"] = withheld;
        var firing = (string?)life["Phase"] == "Firing";
        if (firing && paging["Policy"] is null && doc["Rule"]?["EscalateAfter"] is JsonValue after && after.TryGetValue<string>(out var text)
            && doc["Rule"].Deserialize<Monitoring.Rules.AlertRule>(PostgresGrainStorage.Json) is { } rule
            && Monitoring.Alerts.AlertLifecycle.PolicyFor(rule, null) is { } simple)
        {
            var escalated = paging["EscalatedAt"] is not null;
            paging["Policy"] = JsonSerializer.SerializeToNode(simple, PostgresGrainStorage.Json);
            paging["PolicyStep"] = escalated ? 2 : 1;
            paging["NextPolicyStepAt"] = escalated || (string?)life["FiredAt"] is not { } fired
                ? null
                : JsonSerializer.SerializeToNode(DateTimeOffset.Parse(fired, System.Globalization.CultureInfo.InvariantCulture) + TimeSpan.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
        }
        Take("IsOpen");
        Take("LastHeld");
        life["Paging"] = paging;
        doc["Life"] = life;
    }

    public static int CurrentVersion(string grainType, string state) =>
        Steps.TryGetValue((grainType, state), out var steps) && steps.Length > 0 ? steps[^1].To : 1;

    public static JsonObject Upgrade(string grainType, string state, int storedVersion, string payload)
    {
        var document = JsonNode.Parse(payload)!.AsObject();
        foreach (var step in Steps.GetValueOrDefault((grainType, state)) ?? [])
        {
            if (step.To > storedVersion) step.Apply(document);
        }
        return document;
    }
}

/// <summary>
/// A storage failure that can cross silos and reach the API: the driver's own exceptions (PostgresException) have no
/// Orleans codec. Carries the operation, the provider and the SQL state, never connection details.
/// </summary>
[GenerateSerializer, Alias("mcp.StorageUnavailableException")]
public sealed class StorageUnavailableException : OrleansException
{
    public StorageUnavailableException(string message) : base(message) { }
}

public static class StorageErrors
{
    public static Task Guard(string provider, string operation, Func<Task> action) =>
        GuardAsync(provider, operation, async () =>
        {
            await action();
            return 0;
        });

    public static async Task<T> GuardAsync<T>(string provider, string operation, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Npgsql.NpgsqlException e)
        {
            var state = (e as Npgsql.PostgresException)?.SqlState ?? "connection";
            // The driver's exception stays here: it cannot cross silos, and its message can name hosts and users.
            throw new StorageUnavailableException($"storage '{provider}' could not {operation} (PostgreSQL: {state})");
        }
    }
}
