using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Escalation;

namespace Monitoring.Api.Contracts;

public sealed record EscalationLevelRequest(string? Delay, string[]? Channels);

/// <summary>An escalation policy as users write it: ordered levels with a delay and channels, repeated N times.</summary>
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
            errors.Add("levels", $"is required: 1 to {EscalationPolicy.MaxLevels} levels, each with \"delay\" and \"channels\"");
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
            if (level.Channels is null || level.Channels.Length == 0 || level.Channels.Length > 32)
            {
                errors.Add($"levels[{i}].channels", "is required: 1 to 32 channel ids");
            }
            else
            {
                for (var c = 0; c < level.Channels.Length; c++)
                {
                    if (!Ids.IsValid(level.Channels[c])) errors.Add($"levels[{i}].channels[{c}]", $"'{level.Channels[c]}' is not a channel id");
                }
                if (level.Channels.Distinct().Count() != level.Channels.Length) errors.Add($"levels[{i}].channels", "lists a channel twice");
            }
            levels.Add(new EscalationLevel(delay, level.Channels ?? []));
        }
        if (Repeat is < 0 or > EscalationPolicy.MaxRepeat) errors.Add("repeat", $"must be from 0 to {EscalationPolicy.MaxRepeat}");
        if (!Durations.TryParse(RepeatInterval ?? DefaultRepeatInterval, out var repeatInterval, out var intervalError)) errors.Add("repeatInterval", intervalError);
        else if (repeatInterval < TimeSpan.FromSeconds(1) || repeatInterval > TimeSpan.FromDays(7)) errors.Add("repeatInterval", "must be from 1s to 7d");
        return errors.Any ? null : new EscalationPolicy(id!, Name ?? id!, [.. levels], Repeat ?? 0, repeatInterval, default);
    }
}

public sealed record EscalationLevelResponse(string Delay, string[] Channels);

public sealed record EscalationPolicyResponse(string Id, string Name, EscalationLevelResponse[] Levels, int Repeat, string RepeatInterval, DateTimeOffset UpdatedAt)
{
    public static EscalationPolicyResponse From(EscalationPolicy p) => new(
        p.Id, p.Name, [.. p.Levels.Select(l => new EscalationLevelResponse(Durations.Format(l.Delay), l.Channels))], p.Repeat,
        Durations.Format(p.RepeatInterval), p.UpdatedAt);
}
