using Monitoring.Common;

namespace Monitoring.Escalation;

/// <summary>
/// Who hears about an unacknowledged alert, and when. Level 1 is told <see cref="EscalationLevel.Delay"/> after
/// the alert fires, each next level its own delay after the one before. When the last level has been told and
/// <see cref="Repeat"/> rounds remain, the policy starts again at level 1, <see cref="RepeatInterval"/> later.
/// An acknowledgement stops it; the resolution reaches every channel that was told.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.EscalationPolicy")]
public sealed record EscalationPolicy(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Levels")] EscalationLevel[] Levels,
    [property: Id(3), JsonPropertyName("Repeat")] int Repeat,
    [property: Id(4), JsonPropertyName("RepeatInterval")] TimeSpan RepeatInterval,
    [property: Id(5), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    public const int MaxLevels = 10;
    public const int MaxRepeat = 20;

    /// <summary>Levels told in all, over every round.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int TotalSteps => Levels.Length * (Repeat + 1);

    public EscalationLevel LevelOf(int step) => Levels[step % Levels.Length];

    /// <summary>The wait before <paramref name="step"/>, counted from the step before it (or from firing for step 0).</summary>
    public TimeSpan DelayBefore(int step) => step > 0 && step % Levels.Length == 0 ? RepeatInterval : LevelOf(step).Delay;

    /// <summary>The level (1-based) that <paramref name="step"/> tells; rounds repeat the levels.</summary>
    public int LevelNumber(int step) => step % Levels.Length + 1;

    /// <summary>The level last told after <paramref name="stepsTaken"/> steps, or 0 before the first.</summary>
    public int CurrentLevel(int stepsTaken) => stepsTaken > 0 ? LevelNumber(stepsTaken - 1) : 0;

    /// <summary>When the first step is due, for paging that starts at <paramref name="start"/>.</summary>
    public DateTimeOffset FirstStepAt(DateTimeOffset start) => start + DelayBefore(0);

    /// <summary>When the next step is due after <paramref name="stepsTaken"/> steps (stored beside them), or null once the last round is told.</summary>
    public DateTimeOffset? NextStepAt(int stepsTaken, DateTimeOffset? nextAt) => stepsTaken < TotalSteps ? nextAt : null;

    /// <summary>The step due by <paramref name="now"/> after <paramref name="stepsTaken"/> steps, or null when none is.</summary>
    public EscalationStep? DueStep(int stepsTaken, DateTimeOffset? nextAt, DateTimeOffset now) =>
        NextStepAt(stepsTaken, nextAt) is { } at && at <= now ? Step(stepsTaken, at) : null;

    /// <summary>
    /// The one rule of escalation, for alerts and incidents alike: the step due at <paramref name="dueAt"/> after
    /// <paramref name="stepsTaken"/> steps tells <see cref="EscalationStep.Channels"/> at level
    /// <see cref="EscalationStep.Level"/>, and the next one is due its delay after it (none after the last round).
    /// </summary>
    public EscalationStep Step(int stepsTaken, DateTimeOffset dueAt)
    {
        var next = stepsTaken + 1;
        var level = LevelOf(stepsTaken);
        return new EscalationStep(stepsTaken, LevelNumber(stepsTaken), level.Channels, next, next < TotalSteps ? dueAt + DelayBefore(next) : null)
        {
            Users = level.Users,
            Schedules = level.Schedules,
        };
    }

    /// <summary>
    /// What an escalating step says, for an alert's history and an incident's timeline alike: its level and policy, or,
    /// for the policy made from a rule's <c>escalateAfter</c> (<paramref name="simple"/>), how long nobody acknowledged.
    /// </summary>
    public string Describe(EscalationStep step, bool simple = false) =>
        simple ? $"unacknowledged for {Durations.Format(Levels[^1].Delay)}" : $"escalated to level {step.Level} of {Id}";

    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<string> AllChannels => Levels.SelectMany(l => l.Channels).Distinct();
}

/// <summary>One step of a policy: what it tells, and where the paging stands after it.</summary>
public readonly record struct EscalationStep(int Index, int Level, string[] Channels, int StepsTaken, DateTimeOffset? NextAt)
{
    /// <summary>People the step pages, and schedules whose on-call people it pages.</summary>
    public string[] Users { get; init; } = [];

    public string[] Schedules { get; init; } = [];

    public bool PagesPeople => Users.Length > 0 || Schedules.Length > 0;

    /// <summary>The first step tells the first level; later ones escalate.</summary>
    public bool Escalates => Index > 0;

    /// <summary>The status its messages and pages carry: the first step's is firing, every later one's escalated.</summary>
    public string Status => Escalates ? "escalated" : "firing";
}

/// <summary>
/// One level: after <see cref="Delay"/> it tells its channels, pages its users, and pages whoever is on call in its
/// schedules at that moment, each person through their own notification rules.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.EscalationLevel")]
public sealed record EscalationLevel([property: Id(0), JsonPropertyName("Delay")] TimeSpan Delay, [property: Id(1), JsonPropertyName("Channels")] string[] Channels)
{
    [Id(2)] private readonly string[]? _users;
    [Id(3)] private readonly string[]? _schedules;

    /// <summary>
    /// People paged at this level. Absent from older rows and from older silos' messages: empty then. (A silo of the
    /// release before builds this record without running initializers, so the getter, not an initializer, says empty.)
    /// </summary>
    [JsonPropertyName("Users")] public string[] Users { get => _users ?? []; init => _users = value; }

    /// <summary>Schedules whose on-call people are paged at this level; empty when absent, as <see cref="Users"/>.</summary>
    [JsonPropertyName("Schedules")] public string[] Schedules { get => _schedules ?? []; init => _schedules = value; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool PagesPeople => Users.Length > 0 || Schedules.Length > 0;
}

[Alias("mcp.IEscalationPolicyGrain")]
public interface IEscalationPolicyGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(EscalationPolicy policy);

    Task<WriteResult> UpdateAsync(EscalationPolicy policy);

    /// <summary>Refused while a rule references the policy.</summary>
    Task<WriteResult> DeleteAsync();

    [AlwaysInterleave]
    Task<EscalationPolicy?> GetAsync();
}
