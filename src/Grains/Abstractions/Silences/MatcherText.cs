using System.Text;
using System.Text.RegularExpressions;

namespace Monitoring.Silences;

/// <summary>
/// Label matchers as people write them: <c>name=value</c>, <c>name!=value</c>, <c>name=~regex</c>, <c>name!~regex</c>,
/// values bare or double-quoted (with \" and \\ escapes); and Alertmanager's lists, <c>{a="1", b=~"2.*"}</c>. Parsed
/// by hand in one pass, never by a backtracking pattern, so hostile input costs time in proportion to its length;
/// lengths are checked before anything else.
/// </summary>
public static class MatcherText
{
    public const int MaxLength = 4096;
    public const int MaxValueLength = 1024;

    public static bool TryParse(string? text, out Matcher matcher, out string error) => TryParse(text, out matcher, out error, out _);

    /// <param name="part">Where the error is: "value" when the value is wrong (too long, not a regex), else "".</param>
    public static bool TryParse(string? text, out Matcher matcher, out string error, out string part)
    {
        part = "";
        matcher = null!;
        if (text is null)
        {
            error = "a matcher is required, e.g. severity=critical";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"is longer than {MaxLength} characters";
            return false;
        }
        var position = 0;
        if (!TryRead(text, ref position, out matcher, out error))
        {
            if (error.StartsWith("the value of", StringComparison.Ordinal)) part = "value";
            return false;
        }
        SkipBlanks(text, ref position);
        if (position != text.Length)
        {
            error = $"unexpected '{text[position]}' at column {position + 1}; write name=value, name!=value, name=~regex or name!~regex";
            return false;
        }
        return true;
    }

    /// <summary>A list: <c>{a="1",b!~"x"}</c> (the braces optional), matchers separated by commas.</summary>
    public static bool TryParseList(string? text, out Matcher[] matchers, out string error)
    {
        matchers = [];
        if (text is null || text.Length > MaxLength)
        {
            error = text is null ? "matchers are required" : $"is longer than {MaxLength} characters";
            return false;
        }
        var position = 0;
        SkipBlanks(text, ref position);
        var braced = position < text.Length && text[position] == '{';
        if (braced) position++;
        var list = new List<Matcher>();
        while (true)
        {
            SkipBlanks(text, ref position);
            if (braced && position < text.Length && text[position] == '}') { position++; break; }
            if (!braced && position >= text.Length) break;
            if (!TryRead(text, ref position, out var matcher, out error)) return false;
            list.Add(matcher);
            SkipBlanks(text, ref position);
            if (position < text.Length && text[position] == ',') { position++; continue; }
            if (braced && position < text.Length && text[position] == '}') { position++; break; }
            if (!braced && position >= text.Length) break;
            error = position >= text.Length ? "the list is not closed with '}'" : $"unexpected '{text[position]}' at column {position + 1}; separate matchers with ','";
            return false;
        }
        SkipBlanks(text, ref position);
        if (position != text.Length)
        {
            error = $"unexpected '{text[position]}' at column {position + 1}";
            return false;
        }
        matchers = [.. list];
        error = "";
        return true;
    }

    private static bool TryRead(string text, ref int position, out Matcher matcher, out string error)
    {
        matcher = null!;
        SkipBlanks(text, ref position);
        var start = position;
        while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_')) position++;
        var name = text[start..position];
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            error = $"a label name is expected at column {start + 1} (letters, digits and '_', not starting with a digit)";
            return false;
        }
        SkipBlanks(text, ref position);
        MatchOperator op;
        if (Next(text, position, "=~")) { op = MatchOperator.Regex; position += 2; }
        else if (Next(text, position, "!~")) { op = MatchOperator.NotRegex; position += 2; }
        else if (Next(text, position, "!=")) { op = MatchOperator.NotEqual; position += 2; }
        else if (Next(text, position, "=")) { op = MatchOperator.Equal; position += 1; }
        else
        {
            error = $"an operator (=, !=, =~ or !~) is expected at column {position + 1}";
            return false;
        }
        SkipBlanks(text, ref position);
        string value;
        if (position < text.Length && text[position] == '"')
        {
            var builder = new StringBuilder();
            position++;
            while (true)
            {
                if (position >= text.Length)
                {
                    error = "the quoted value is not closed";
                    return false;
                }
                var c = text[position++];
                if (c == '"') break;
                if (c == '\\' && position < text.Length)
                {
                    var escaped = text[position++];
                    builder.Append(escaped switch { 'n' => '\n', 't' => '\t', _ => escaped });
                    continue;
                }
                builder.Append(c);
            }
            value = builder.ToString();
        }
        else
        {
            // A bare value runs to the end, or (in a list) to a comma or a closing brace; blanks around it do not count.
            start = position;
            while (position < text.Length && text[position] is not (',' or '}')) position++;
            value = text[start..position].Trim();
        }
        if (value.Length > MaxValueLength)
        {
            error = $"the value of '{name}' is longer than {MaxValueLength} characters";
            return false;
        }
        if (op is MatchOperator.Regex or MatchOperator.NotRegex && !IsRegex(value, out var problem))
        {
            error = $"the value of '{name}' is not a valid regular expression: {problem}";
            return false;
        }
        matcher = new Matcher(name, op, value);
        error = "";
        return true;
    }

    /// <summary>Whether a matcher's regex compiles (anchored, with the matching timeout).</summary>
    public static bool IsRegex(string value, out string problem)
    {
        try
        {
            _ = new Regex($"^(?:{value})$", RegexOptions.CultureInvariant, Matcher.RegexTimeout);
            problem = "";
            return true;
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
            return false;
        }
    }

    private static bool Next(string text, int position, string token) => string.CompareOrdinal(text, position, token, 0, token.Length) == 0;

    private static void SkipBlanks(string text, ref int position)
    {
        while (position < text.Length && text[position] is ' ' or '\t') position++;
    }
}
