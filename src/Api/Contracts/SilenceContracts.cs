using System.Text.Json;
using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Silences;

namespace Monitoring.Api.Contracts;

/// <summary>
/// A silence as users write it. Matchers are Alertmanager's objects ({"name","value","isRegex","isEqual"}) or the
/// short text form ("severity=critical", "server_id=~prod-.*"). Give "endsAt" or "duration"; "startsAt" defaults to now.
/// </summary>
public sealed partial record SilenceRequest(
    JsonElement? Matchers, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, string? Duration, string? CreatedBy, string? Comment, bool? SendResolved)
{
    public const int MaxMatchers = 32;
    public static readonly TimeSpan MaxLength = TimeSpan.FromDays(365);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex LabelName();

    public Silence? ToSilence(string id, DateTimeOffset now, RequestErrors errors)
    {
        var matchers = ReadMatchers(errors);
        var startsAt = StartsAt ?? now;
        DateTimeOffset? endsAt = EndsAt;
        if (Duration is not null)
        {
            if (EndsAt is not null) errors.Add("duration", "give either \"endsAt\" or \"duration\", not both");
            else if (!Durations.TryParse(Duration, out var length, out var error)) errors.Add("duration", error);
            else if (length > DateTimeOffset.MaxValue - startsAt) errors.Add("duration", "ends after the last representable time (9999-12-31)");
            else endsAt = startsAt + length;
        }
        if (endsAt is null) errors.Add("endsAt", "is required (or \"duration\"): when the silence ends");
        else if (endsAt <= startsAt) errors.Add("endsAt", "must be after startsAt");
        else if (endsAt <= now) errors.Add("endsAt", "is in the past: the silence would never be active");
        else if (endsAt - startsAt > MaxLength) errors.Add("endsAt", "is more than 365 days after startsAt");
        if (string.IsNullOrWhiteSpace(CreatedBy) || CreatedBy.Length > 200) errors.Add("createdBy", "is required: who silences, at most 200 characters");
        if (string.IsNullOrWhiteSpace(Comment) || Comment.Length > 2000) errors.Add("comment", "is required: why, at most 2000 characters");
        return errors.Any ? null : new Silence(id, [.. matchers], startsAt, endsAt!.Value, CreatedBy!, Comment!, SendResolved ?? false, now);
    }

    private List<Matcher> ReadMatchers(RequestErrors errors)
    {
        var matchers = new List<Matcher>();
        if (Matchers is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0 || list.GetArrayLength() > MaxMatchers)
        {
            errors.Add("matchers", $"is required: 1 to {MaxMatchers} label matchers, e.g. \"severity=critical\" or {{\"name\":\"server_id\",\"value\":\"prod-.*\",\"isRegex\":true}}");
            return matchers;
        }
        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            var field = $"matchers[{i++}]";
            if (ReadMatcher(item, field, errors) is { } matcher) matchers.Add(matcher);
        }
        if (errors.Any) return matchers;
        // As Alertmanager requires: a silence that matches every alert is refused.
        var empty = new Dictionary<string, string>();
        if (matchers.All(m => m.Matches(empty))) errors.Add("matchers", "match an alert with no labels at all; at least one matcher must need a non-empty value");
        return matchers;
    }

    internal static Matcher? ReadMatcher(JsonElement item, string field, RequestErrors errors)
    {
        string? name, value;
        MatchOperator op;
        if (item.ValueKind == JsonValueKind.String)
        {
            // Parsed in one pass, lengths first: a hostile value costs time in proportion to its length.
            if (!MatcherText.TryParse(item.GetString(), out var parsed, out var error, out var part))
            {
                errors.Add(part.Length > 0 ? $"{field}.{part}" : field, error);
                return null;
            }
            return parsed;
        }
        else if (item.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in item.EnumerateObject())
            {
                if (member.Name is not ("name" or "value" or "isRegex" or "isEqual"))
                {
                    errors.Add($"{field}.{(member.Name.Length <= 64 ? member.Name : member.Name[..64] + "…")}", "is not a matcher field; expected name, value, isRegex and isEqual");
                }
                else if (member.Name is "isRegex" or "isEqual" && member.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                {
                    errors.Add($"{field}.{member.Name}", "must be true or false");
                }
                else if (member.Name is "name" or "value" && member.Value.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"{field}.{member.Name}", "must be a string");
                }
            }
            name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            value = item.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var isRegex = item.TryGetProperty("isRegex", out var r) && r.ValueKind == JsonValueKind.True;
            var isEqual = !item.TryGetProperty("isEqual", out var e) || e.ValueKind != JsonValueKind.False;
            op = (isRegex, isEqual) switch
            {
                (false, true) => MatchOperator.Equal,
                (false, false) => MatchOperator.NotEqual,
                (true, true) => MatchOperator.Regex,
                _ => MatchOperator.NotRegex,
            };
            if (value is null) errors.Add($"{field}.value", "is required: a string");
        }
        else
        {
            errors.Add(field, "must be a matcher string or an object with name, value, isRegex and isEqual");
            return null;
        }
        if (name is null || name.Length > 128 || !LabelName().IsMatch(name))
        {
            errors.Add($"{field}.name", name is null ? "is required: a label name" : $"'{(name.Length <= 64 ? name : name[..64] + "…")}' is not a label name (letters, digits and _, at most 128)");
        }
        if (value is { Length: > MatcherText.MaxValueLength }) errors.Add($"{field}.value", $"is longer than {MatcherText.MaxValueLength} characters");
        else if (op is MatchOperator.Regex or MatchOperator.NotRegex && value is not null && !MatcherText.IsRegex(value, out var problem))
        {
            errors.Add($"{field}.value", $"is not a valid regular expression: {problem}");
        }
        return name is null || value is null ? null : new Matcher(name, op, value);
    }
}

public sealed record MatcherResponse(string Name, string Value, bool IsRegex, bool IsEqual, string Text);

public sealed record SilenceResponse(
    string Id, string Status, MatcherResponse[] Matchers, DateTimeOffset StartsAt, DateTimeOffset EndsAt, string CreatedBy, string Comment,
    bool SendResolved, DateTimeOffset UpdatedAt)
{
    public static SilenceResponse From(Silence s, DateTimeOffset now) => new(
        s.Id, s.StateAt(now).ToString().ToLowerInvariant(),
        [.. s.Matchers.Select(m => new MatcherResponse(m.Name, m.Value, m.Operator is MatchOperator.Regex or MatchOperator.NotRegex,
            m.Operator is MatchOperator.Equal or MatchOperator.Regex, m.ToString()))],
        s.StartsAt, s.EndsAt, s.CreatedBy, s.Comment, s.SendResolved, s.UpdatedAt);
}
