using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Monitoring.Hosting.Persistence;
using Monitoring.Listings;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Persistence;

/// <summary>
/// What production stores, as names: grain types (PostgreSQL rows and Redis reminders are keyed by them), state and
/// storage names, listing kinds, and every JSON member of every stored document, path by path. The snapshot is checked
/// in (persisted-contract.txt): renaming anything persisted fails here instead of orphaning rows.
/// </summary>
public sealed class PersistedContractTests
{
    private static readonly string SnapshotPath = Repository.PathTo("tests", "Monitoring.Tests", "Persistence", "persisted-contract.txt");
    private static readonly Assembly Abstractions = typeof(Monitoring.Rules.AlertRule).Assembly;
    private static readonly Assembly Grains = typeof(Monitoring.Alerts.AlertGrain).Assembly;

    [Fact]
    public void The_persisted_contract_matches_the_snapshot()
    {
        var (contract, unpinned) = Describe();
        Assert.True(unpinned.Count == 0, "Persisted names must be pinned, so a C# rename changes nothing stored:\n" + string.Join('\n', unpinned));
        if (Environment.GetEnvironmentVariable("UPDATE_PERSISTED_CONTRACT") == "1")
        {
            File.WriteAllText(SnapshotPath, contract);
        }
        var expected = File.Exists(SnapshotPath) ? File.ReadAllText(SnapshotPath) : "";
        if (expected == contract) return;
        var before = expected.Split('\n').ToHashSet();
        var after = contract.Split('\n').ToHashSet();
        Assert.Fail(
            "The persisted contract changed. Stored rows use these names, so a rename orphans them.\n" +
            "- Renamed a C# member, class or grain? Keep the stored name: [JsonPropertyName(\"Old\")], [GrainType(\"old\")], [JsonStringEnumMemberName(\"Old\")].\n" +
            "- Changed what is stored on purpose? Add a state migration (src/Hosting/Persistence/StateMigrations.cs) with a test that old rows still load, then " +
            "run the tests once with UPDATE_PERSISTED_CONTRACT=1 and commit persisted-contract.txt.\n" +
            "Removed:\n  " + string.Join("\n  ", before.Except(after)) + "\nAdded:\n  " + string.Join("\n  ", after.Except(before)));
    }

    [Fact]
    public void Every_grain_interface_and_serialized_type_has_an_alias()
    {
        var missing = new[] { Abstractions, Grains }.SelectMany(a => a.GetTypes())
            .Where(t => (t.IsInterface && typeof(IAddressable).IsAssignableFrom(t) || t.GetCustomAttribute<GenerateSerializerAttribute>() is not null)
                && t.GetCustomAttribute<AliasAttribute>() is null)
            .Select(t => t.FullName).ToArray();
        Assert.True(missing.Length == 0, "Add [Alias(\"mcp.Name\")] to: " + string.Join(", ", missing));
    }

    public static (string Contract, List<string> Unpinned) Describe()
    {
        var lines = new List<string>();
        var unpinned = new List<string>();
        var grains = Grains.GetTypes().Where(t => !t.IsAbstract && typeof(Grain).IsAssignableFrom(t)).OrderBy(t => t.Name);
        foreach (var grain in grains)
        {
            var type = grain.GetCustomAttribute<GrainTypeAttribute>();
            if (type is null)
            {
                unpinned.Add($"{grain.FullName} has no [GrainType(\"...\")]");
                continue;
            }
            var grainType = type.GetGrainType(null!, grain).ToString();
            foreach (var parameter in grain.GetConstructors().SelectMany(c => c.GetParameters()))
            {
                if (parameter.GetCustomAttribute<PersistentStateAttribute>() is not { } persistent) continue;
                var stateType = parameter.ParameterType.GetGenericArguments()[0];
                if (persistent.StorageName == Monitoring.Settings.StorageNames.Listings)
                {
                    lines.Add($"grain {grainType}: state \"{persistent.StateName}\" in memory only (storage \"{persistent.StorageName}\")");
                    continue;
                }
                var root = $"grain {grainType}: state \"{persistent.StateName}\" (storage \"{persistent.StorageName}\")";
                lines.Add(root);
                Walk(PostgresGrainStorage.Json.GetTypeInfo(stateType), $"{grainType}/{persistent.StateName}", lines, unpinned, []);
            }
        }
        foreach (var entry in Abstractions.GetTypes().Where(t => !t.IsAbstract && typeof(IListingEntry).IsAssignableFrom(t)).OrderBy(t => t.Name))
        {
            var kind = (string)entry.GetProperty("Kind", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            lines.Add($"listing {kind}: payload");
            Walk(PostgresGrainStorage.Json.GetTypeInfo(entry), $"listing/{kind}", lines, unpinned, []);
        }
        // Documents stored outside grain state: the channels' outbox rows and the external alerts' rows.
        lines.Add("table outbox: notification");
        Walk(PostgresGrainStorage.Json.GetTypeInfo(typeof(Monitoring.Channels.Notification)), "outbox/notification", lines, unpinned, []);
        lines.Add("table external_alert: payload");
        Walk(PostgresGrainStorage.Json.GetTypeInfo(typeof(Monitoring.External.ExternalAlertRecord)), "external_alert/payload", lines, unpinned, []);
        return (string.Join('\n', lines) + "\n", unpinned);
    }

    private static void Walk(JsonTypeInfo info, string path, List<string> lines, List<string> unpinned, HashSet<Type> stack)
    {
        if (!stack.Add(info.Type))
        {
            lines.Add($"{path}: (recursive {Shape(info.Type)})");
            return;
        }
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                foreach (var property in info.Properties.OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (property.AttributeProvider is MemberInfo ignored && ignored.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always })
                    {
                        continue;
                    }
                    if (property.AttributeProvider is MemberInfo member && member.GetCustomAttribute<JsonPropertyNameAttribute>() is null)
                    {
                        unpinned.Add($"{member.DeclaringType?.FullName}.{member.Name} is stored as \"{property.Name}\": add [JsonPropertyName(\"{property.Name}\")] (or [JsonIgnore] when it is computed)");
                    }
                    Child(property.PropertyType, $"{path}.{property.Name}", lines, unpinned, stack);
                }
                break;
            case JsonTypeInfoKind.Enumerable:
                Child(info.ElementType!, $"{path}[]", lines, unpinned, stack);
                break;
            case JsonTypeInfoKind.Dictionary:
                Child(info.ElementType!, $"{path}{{}}", lines, unpinned, stack);
                break;
        }
        stack.Remove(info.Type);
    }

    private static void Child(Type type, string path, List<string> lines, List<string> unpinned, HashSet<Type> stack)
    {
        var info = PostgresGrainStorage.Json.GetTypeInfo(type);
        lines.Add($"{path}: {Shape(type)}");
        if (info.Kind is JsonTypeInfoKind.Object or JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary && type != typeof(string))
        {
            Walk(info, path, lines, unpinned, stack);
        }
    }

    private static string Shape(Type type)
    {
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        if (inner.IsEnum)
        {
            return "enum " + string.Join('|', inner.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name));
        }
        if (inner == typeof(string)) return "string";
        if (inner == typeof(bool)) return "bool";
        if (inner == typeof(DateTimeOffset) || inner == typeof(DateTime)) return "date-time";
        if (inner == typeof(TimeSpan)) return "time-span";
        if (inner.IsPrimitive || inner == typeof(decimal)) return "number";
        var kind = PostgresGrainStorage.Json.GetTypeInfo(inner).Kind;
        return kind switch
        {
            JsonTypeInfoKind.Enumerable => "array",
            JsonTypeInfoKind.Dictionary => "map",
            JsonTypeInfoKind.Object => "object",
            _ => "value",
        };
    }
}
