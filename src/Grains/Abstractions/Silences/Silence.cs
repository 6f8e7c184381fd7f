using System.Text.RegularExpressions;
using Monitoring.Common;

namespace Monitoring.Silences;

public enum MatchOperator
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>One label matcher, as Alertmanager has them. Regexes are anchored at both ends, as in Prometheus.</summary>
[GenerateSerializer, Immutable, Alias("mcp.Matcher")]
public sealed record Matcher([property: Id(0), JsonPropertyName("Name")] string Name, [property: Id(1), JsonPropertyName("Operator")] MatchOperator Operator, [property: Id(2), JsonPropertyName("Value")] string Value)
{
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);

    public static string Symbol(MatchOperator op) => op switch
    {
        MatchOperator.Equal => "=",
        MatchOperator.NotEqual => "!=",
        MatchOperator.Regex => "=~",
        _ => "!~",
    };

    /// <summary>A missing label matches as the empty string, as in Alertmanager.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var actual = labels.GetValueOrDefault(Name) ?? "";
        return Operator switch
        {
            MatchOperator.Equal => actual == Value,
            MatchOperator.NotEqual => actual != Value,
            MatchOperator.Regex => IsMatch(actual),
            _ => !IsMatch(actual),
        };
    }

    private bool IsMatch(string actual)
    {
        try
        {
            return Regex.IsMatch(actual, $"^(?:{Value})$", RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    public override string ToString() => $"{Name}{Symbol(Operator)}\"{Value}\"";
}

/// <summary>Mutes notifications of every alert whose labels match all matchers, from <see cref="StartsAt"/> to <see cref="EndsAt"/>.</summary>
[GenerateSerializer, Immutable, Alias("mcp.Silence")]
public sealed record Silence(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Matchers")] Matcher[] Matchers,
    [property: Id(2), JsonPropertyName("StartsAt")] DateTimeOffset StartsAt,
    [property: Id(3), JsonPropertyName("EndsAt")] DateTimeOffset EndsAt,
    [property: Id(4), JsonPropertyName("CreatedBy")] string CreatedBy,
    [property: Id(5), JsonPropertyName("Comment")] string Comment,
    [property: Id(6), JsonPropertyName("SendResolved")] bool SendResolved,
    [property: Id(7), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    public bool IsActiveAt(DateTimeOffset now) => StartsAt <= now && now < EndsAt;

    public SilenceState StateAt(DateTimeOffset now) =>
        now < StartsAt ? SilenceState.Pending : now < EndsAt ? SilenceState.Active : SilenceState.Expired;

    public bool Matches(IReadOnlyDictionary<string, string> labels) => Matchers.All(m => m.Matches(labels));
}

public enum SilenceState
{
    Pending,
    Active,
    Expired,
}

/// <summary>Every silence at one version. Silos cache it and ask only whether the version moved.</summary>
[GenerateSerializer, Immutable, Alias("mcp.SilenceSet")]
public sealed record SilenceSet([property: Id(0), JsonPropertyName("Version")] long Version, [property: Id(1), JsonPropertyName("Silences")] Silence[] Silences)
{
    public static readonly SilenceSet Empty = new(0, []);

    /// <summary>The active silences matching these labels, latest-ending first: the one home of "is this silenced".</summary>
    public Silence[] Matching(IReadOnlyDictionary<string, string> labels, DateTimeOffset now) =>
        Silences.Length == 0 ? [] : [.. Silences.Where(s => s.IsActiveAt(now) && s.Matches(labels)).OrderByDescending(s => s.EndsAt)];
}

/// <summary>The cluster's silences. Small (silences are few) and read through a per-silo cache.</summary>
[Alias("mcp.ISilenceCatalogGrain")]
public interface ISilenceCatalogGrain : IGrainWithStringKey
{
    public const string Key = "all";

    Task<WriteResult> CreateAsync(Silence silence);

    /// <summary>Replaces a silence that has not expired.</summary>
    Task<WriteResult> UpdateAsync(Silence silence);

    /// <summary>Ends a silence now. An expired silence stays listed until it ages out.</summary>
    Task<WriteResult> ExpireAsync(string id);

    /// <summary>The set, or null when the caller's version is current.</summary>
    [AlwaysInterleave]
    Task<SilenceSet?> GetIfChangedAsync(long knownVersion);
}
