using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Escalation;

namespace Monitoring.Api.Contracts;

public sealed record EscalationLevelRequest(string? Delay, string[]? Channels, string[]? Users = null, string[]? Schedules = null);

/// <summary>An escalation policy as users write it: ordered levels with a delay and whom they tell (channels, users, schedules), repeated N times.</summary>
public sealed record EscalationPolicyRequest(string? Id, string? Name, EscalationLevelRequest[]? Levels, int? Repeat, string? RepeatInterval)
{
    public const string DefaultRepeatInterval = "30m";

    public EscalationPolicy? ToPolicy(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (Name is { Length: > 200 }) errors.Add("name", "is at most 200 characters");
        if (Levels is null || Levels.Length == 0 || Levels.Length > EscalationPolicy.MaxLevels)
        {
            errors.Add("levels", $"is required: 1 to {EscalationPolicy.MaxLevels} levels, each with \"delay\" and whom it tells: \"channels\", \"users\" or \"schedules\"");
        }
        var levels = new List<EscalationLevel>();
        for (var i = 0; i < (Levels?.Length ?? 0); i++)
        {
            var level = Levels![i];
            if (level is null)
            {
                errors.Add($"levels[{i}]", "must be an object with \"delay\" and \"channels\"");
                continue;
            }
            var delay = TimeSpan.Zero;
            if (level.Delay is not null && !Durations.TryParse(level.Delay, out delay, out var error)) errors.Add($"levels[{i}].delay", error);
            else if (delay > TimeSpan.FromDays(7)) errors.Add($"levels[{i}].delay", "is at most 7d");
            if ((level.Channels?.Length ?? 0) + (level.Users?.Length ?? 0) + (level.Schedules?.Length ?? 0) == 0)
            {
                errors.Add($"levels[{i}].channels", "is required: a level tells at least one channel, user or schedule");
            }
            Targets(level.Channels, $"levels[{i}].channels", "channel", errors);
            Targets(level.Users, $"levels[{i}].users", "user", errors);
            Targets(level.Schedules, $"levels[{i}].schedules", "schedule", errors);
            levels.Add(new EscalationLevel(delay, level.Channels ?? []) { Users = level.Users ?? [], Schedules = level.Schedules ?? [] });
        }
        if (Repeat is < 0 or > EscalationPolicy.MaxRepeat) errors.Add("repeat", $"must be from 0 to {EscalationPolicy.MaxRepeat}");
        if (!Durations.TryParse(RepeatInterval ?? DefaultRepeatInterval, out var repeatInterval, out var intervalError)) errors.Add("repeatInterval", intervalError);
        else if (repeatInterval < TimeSpan.FromSeconds(1) || repeatInterval > TimeSpan.FromDays(7)) errors.Add("repeatInterval", "must be from 1s to 7d");
        return errors.Any ? null : new EscalationPolicy(id!, Name ?? id!, [.. levels], Repeat ?? 0, repeatInterval, default);
    }

    private static void Targets(string[]? ids, string field, string kind, RequestErrors errors)
    {
        if (ids is null) return;
        if (ids.Length > 32) errors.Add(field, $"at most 32 {kind} ids");
        for (var c = 0; c < ids.Length; c++)
        {
            if (!Ids.IsValid(ids[c])) errors.Add($"{field}[{c}]", $"'{ids[c]}' is not a {kind} id");
        }
        if (ids.Distinct().Count() != ids.Length) errors.Add(field, $"lists a {kind} twice");
    }
}

public sealed record EscalationLevelResponse(string Delay, string[] Channels, string[] Users, string[] Schedules);

public sealed record EscalationPolicyResponse(string Id, string Name, EscalationLevelResponse[] Levels, int Repeat, string RepeatInterval, DateTimeOffset UpdatedAt)
{
    /// <summary>What is stored but will not page as it reads: a targeted schedule with gaps in the next 7 days. Only on writes.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Warnings { get; init; }

    public static EscalationPolicyResponse From(EscalationPolicy p) => new(
        p.Id, p.Name, [.. p.Levels.Select(l => new EscalationLevelResponse(Durations.Format(l.Delay), l.Channels, l.Users, l.Schedules))], p.Repeat,
        Durations.Format(p.RepeatInterval), p.UpdatedAt);
}
