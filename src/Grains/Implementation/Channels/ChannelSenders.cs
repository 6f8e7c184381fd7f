using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>The channel types this silo can deliver to, by type name, and what they share: validation and secrets.</summary>
public sealed class ChannelSenders(IEnumerable<IChannelSender> senders, Outbound.OutboundGuard outbound)
{
    public const string Redacted = "<redacted>";
    private readonly Dictionary<string, IChannelSender> _byType = senders.ToDictionary(s => s.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => _byType.Keys;

    public IChannelSender? Find(string type) => _byType.GetValueOrDefault(type);

    /// <summary>Every problem with a channel definition, or none.</summary>
    public FieldError[] Validate(NotificationChannel channel)
    {
        if (Find(channel.Type) is not { } sender)
        {
            return [new FieldError("type", $"unknown channel type '{channel.Type}'; expected one of: {string.Join(", ", Types.Order())}")];
        }
        try
        {
            using var document = JsonDocument.Parse(channel.Config);
            if (RepeatedMember(document.RootElement, "config") is { } repeated)
            {
                return [repeated];
            }
            var errors = new List<FieldError>(sender.Validate(document.RootElement));
            ChannelSettings.Read(document.RootElement, errors);
            var reader = new ConfigReader(document.RootElement, errors);
            reader.Only([.. sender.Fields, .. ChannelSettings.Fields]);
            foreach (var field in sender.AddressFields)
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(field, out var value)
                    && value.ValueKind == JsonValueKind.String && outbound.LiteralRefusal(value.GetString()!) is { } reason)
                {
                    reader.Fail(field, $"can never be reached: {reason}");
                }
            }
            return [.. errors];
        }
        catch (JsonException)
        {
            return [new FieldError("config", "is not valid JSON")];
        }
    }

    /// <summary>The first object member named twice anywhere in the config, which JSON readers disagree about: refused.</summary>
    private static FieldError? RepeatedMember(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in element.EnumerateObject())
                {
                    if (!names.Add(member.Name)) return new FieldError($"{path}.{member.Name}", "appears twice; every member may appear once");
                    if (RepeatedMember(member.Value, $"{path}.{member.Name}") is { } inner) return inner;
                }
                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (RepeatedMember(item, $"{path}[{index++}]") is { } inner) return inner;
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>The config as users may see it: every secret replaced by "&lt;redacted&gt;" (an object's values one by one).</summary>
    public string Redact(NotificationChannel channel)
    {
        var node = JsonNode.Parse(channel.Config)!.AsObject();
        foreach (var field in Find(channel.Type)?.SecretFields ?? [])
        {
            switch (node[field])
            {
                case JsonObject values:
                    foreach (var name in values.Select(v => v.Key).ToList()) values[name] = Redacted;
                    break;
                case JsonNode:
                    node[field] = Redacted;
                    break;
            }
        }
        return node.ToJsonString();
    }

    /// <summary>Whether replacing <paramref name="stored"/> by <paramref name="update"/> would change a secret's value.</summary>
    public bool SecretsDiffer(NotificationChannel update, NotificationChannel stored)
    {
        if (update.Type != stored.Type || Find(update.Type) is not { } sender) return false;
        var next = JsonNode.Parse(KeepSecrets(update, stored).Config)!.AsObject();
        var previous = JsonNode.Parse(stored.Config)!.AsObject();
        return sender.SecretFields.Any(field => !JsonNode.DeepEquals(next[field], previous[field]));
    }

    /// <summary>
    /// A secret missing from an update, or sent back as "&lt;redacted&gt;", keeps its stored value, so a user can PUT
    /// back what a GET showed without wiping the password.
    /// </summary>
    public NotificationChannel KeepSecrets(NotificationChannel update, NotificationChannel stored)
    {
        if (update.Type != stored.Type || Find(update.Type) is not { } sender) return update;
        var next = JsonNode.Parse(update.Config)!.AsObject();
        var previous = JsonNode.Parse(stored.Config)!.AsObject();
        foreach (var field in sender.SecretFields)
        {
            var old = previous[field];
            if (old is null) continue;
            switch (next[field])
            {
                case null:
                    if (!next.ContainsKey(field)) next[field] = old.DeepClone();
                    break;
                case JsonValue value when value.TryGetValue<string>(out var text) && text == Redacted:
                    next[field] = old.DeepClone();
                    break;
                case JsonObject values when old is JsonObject oldValues:
                    foreach (var (name, value) in values.ToList())
                    {
                        if (value is JsonValue v && v.TryGetValue<string>(out var t) && t == Redacted && oldValues[name] is { } kept)
                        {
                            values[name] = kept.DeepClone();
                        }
                    }
                    break;
            }
        }
        return update with { Config = next.ToJsonString() };
    }
}
