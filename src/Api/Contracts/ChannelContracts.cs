using System.Text.Json;
using System.Text.Json.Nodes;
using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Common;

namespace Monitoring.Api.Contracts;

public sealed record ChannelRequest(string? Id, string? Type, JsonElement? Config, bool? Enabled)
{
    public const int MaxConfigBytes = 64 * 1024;

    public NotificationChannel? ToChannel(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (string.IsNullOrWhiteSpace(Type)) errors.Add("type", "is required, e.g. \"webhook\"");
        if (Config is not { ValueKind: JsonValueKind.Object } config) errors.Add("config", "is required: an object with the channel type's settings");
        else if (config.GetRawText().Length > MaxConfigBytes) errors.Add("config", $"is larger than {MaxConfigBytes} bytes");
        return errors.Any ? null : new NotificationChannel(id!, Type!, Enabled ?? true, Config!.Value.GetRawText(), default, default);
    }
}

public sealed record ChannelResponse(
    string Id, string Type, bool Enabled, JsonNode? Config, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Pending, int Held, long HeldTotal)
{
    public static ChannelResponse From(ChannelView c) =>
        new(c.Id, c.Type, c.Enabled, JsonNode.Parse(c.RedactedConfig), c.CreatedAt, c.UpdatedAt, c.Pending, c.Held, c.HeldTotal);
}

public sealed record DeliveryResponse(
    string IdempotencyKey, string AlertId, string ChannelId, string Kind, string Status, int Attempts, DateTimeOffset RecordedAt,
    DateTimeOffset UpdatedAt, string? LastError)
{
    public static DeliveryResponse From(DeliveryRecord d) => new(
        d.IdempotencyKey, d.AlertId, d.ChannelId, d.Kind.ToString().ToLowerInvariant(), d.State.ToString().ToLowerInvariant(), d.Attempts,
        d.RecordedAt, d.UpdatedAt, d.LastError);
}

public sealed record TestDeliveryResponse(bool Delivered, string? Error, double DurationMs, string IdempotencyKey)
{
    public static TestDeliveryResponse From(TestDelivery t) => new(t.Delivered, t.Error, Math.Round(t.Duration.TotalMilliseconds, 1), t.IdempotencyKey);
}
