using System.Globalization;

namespace Monitoring.Probing;

/// <summary>One sample of the Prometheus text exposition format.</summary>
public readonly record struct PrometheusSample(string Name, KeyValuePair<string, string>[] Labels, double Value)
{
    public string? Label(string name)
    {
        foreach (var (key, value) in Labels)
        {
            if (key == name) return value;
        }
        return null;
    }
}

public sealed class PrometheusFormatException(int line, string message)
    : FormatException($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4, and the OpenMetrics subset servers emit):
/// <c># HELP</c>, <c># TYPE</c>, comments, and samples <c>name{label="value",…} value [timestamp]</c>.
/// Like Prometheus it refuses the whole scrape on the first malformed line, and says which line and why.
/// </summary>
public static class PrometheusText
{
    public const int MaxLineLength = 64 * 1024;

    public static List<PrometheusSample> Parse(string text, int maxSamples = 200_000)
    {
        var samples = new List<PrometheusSample>();
        var lineNumber = 0;
        var start = 0;
        while (start <= text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0) end = text.Length;
            lineNumber++;
            var line = text.AsSpan(start, end - start);
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            if (line.Length > MaxLineLength)
            {
                throw new PrometheusFormatException(lineNumber, $"the line is {line.Length} characters long; at most {MaxLineLength} are read");
            }
            var trimmed = line.TrimStart(" \t");
            if (trimmed.Length > 0 && trimmed[0] != '#')
            {
                if (samples.Count >= maxSamples)
                {
                    throw new PrometheusFormatException(lineNumber, $"more than {maxSamples} samples");
                }
                samples.Add(ParseSample(trimmed, lineNumber));
            }
            else if (trimmed.StartsWith("# TYPE ", StringComparison.Ordinal) || trimmed.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = trimmed[7..].TrimStart(" \t");
                var nameLength = MetricNameLength(rest);
                if (nameLength == 0)
                {
                    throw new PrometheusFormatException(lineNumber, $"'{Excerpt(trimmed)}' names no metric");
                }
            }
            start = end + 1;
        }
        return samples;
    }

    private static PrometheusSample ParseSample(ReadOnlySpan<char> line, int lineNumber)
    {
        var nameLength = MetricNameLength(line);
        if (nameLength == 0)
        {
            throw new PrometheusFormatException(lineNumber, $"expected a metric name at the start of '{Excerpt(line)}'");
        }
        var name = line[..nameLength].ToString();
        var position = nameLength;
        var labels = Array.Empty<KeyValuePair<string, string>>();
        if (position < line.Length && line[position] == '{')
        {
            labels = ParseLabels(line, ref position, lineNumber);
        }
        var rest = line[position..];
        if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '\t'))
        {
            throw new PrometheusFormatException(lineNumber, $"expected a space and a value after '{Excerpt(line[..position])}'");
        }
        rest = rest.Trim(" \t");
        var split = rest.IndexOfAny(' ', '\t');
        var valueText = split < 0 ? rest : rest[..split];
        if (!TryParseValue(valueText, out var value))
        {
            throw new PrometheusFormatException(lineNumber, $"'{Excerpt(valueText)}' is not a sample value");
        }
        if (split >= 0)
        {
            var timestamp = rest[split..].Trim(" \t");
            if (!long.TryParse(timestamp, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                && !double.TryParse(timestamp, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                throw new PrometheusFormatException(lineNumber, $"'{Excerpt(timestamp)}' is not a timestamp");
            }
        }
        return new PrometheusSample(name, labels, value);
    }

    private static KeyValuePair<string, string>[] ParseLabels(ReadOnlySpan<char> line, ref int position, int lineNumber)
    {
        var labels = new List<KeyValuePair<string, string>>();
        position++; // '{'
        while (true)
        {
            SkipBlanks(line, ref position);
            if (position >= line.Length)
            {
                throw new PrometheusFormatException(lineNumber, "the label set is not closed with '}'");
            }
            if (line[position] == '}')
            {
                position++;
                return [.. labels];
            }
            var nameLength = LabelNameLength(line[position..]);
            if (nameLength == 0)
            {
                throw new PrometheusFormatException(lineNumber, $"expected a label name at column {position + 1}");
            }
            var labelName = line.Slice(position, nameLength).ToString();
            position += nameLength;
            SkipBlanks(line, ref position);
            if (position >= line.Length || line[position] != '=')
            {
                throw new PrometheusFormatException(lineNumber, $"expected '=' after label '{labelName}'");
            }
            position++;
            SkipBlanks(line, ref position);
            if (position >= line.Length || line[position] != '"')
            {
                throw new PrometheusFormatException(lineNumber, $"expected a quoted value for label '{labelName}'");
            }
            labels.Add(new(labelName, ParseQuoted(line, ref position, lineNumber)));
            SkipBlanks(line, ref position);
            if (position < line.Length && line[position] == ',')
            {
                position++;
            }
            else if (position < line.Length && line[position] != '}')
            {
                throw new PrometheusFormatException(lineNumber, $"expected ',' or '}}' at column {position + 1}");
            }
        }
    }

    private static string ParseQuoted(ReadOnlySpan<char> line, ref int position, int lineNumber)
    {
        position++; // opening quote
        var builder = new System.Text.StringBuilder();
        while (position < line.Length)
        {
            var c = line[position++];
            if (c == '"')
            {
                return builder.ToString();
            }
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (position >= line.Length) break;
            var escaped = line[position++];
            builder.Append(escaped switch
            {
                'n' => '\n',
                '\\' => '\\',
                '"' => '"',
                _ => throw new PrometheusFormatException(lineNumber, $"'\\{escaped}' is not an escape the format allows"),
            });
        }
        throw new PrometheusFormatException(lineNumber, "a label value is not closed with '\"'");
    }

    private static bool TryParseValue(ReadOnlySpan<char> text, out double value)
    {
        switch (text)
        {
            case "NaN": value = double.NaN; return true;
            case "+Inf" or "Inf": value = double.PositiveInfinity; return true;
            case "-Inf": value = double.NegativeInfinity; return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && !double.IsNaN(value) && !double.IsInfinity(value);
    }

    private static int MetricNameLength(ReadOnlySpan<char> text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] is '_' or ':' || (i > 0 && char.IsAsciiDigit(text[i]))))
        {
            i++;
        }
        return i;
    }

    private static int LabelNameLength(ReadOnlySpan<char> text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] == '_' || (i > 0 && char.IsAsciiDigit(text[i]))))
        {
            i++;
        }
        return i;
    }

    private static void SkipBlanks(ReadOnlySpan<char> line, ref int position)
    {
        while (position < line.Length && line[position] is ' ' or '\t') position++;
    }

    private static string Excerpt(ReadOnlySpan<char> text) => text.Length <= 60 ? text.ToString() : string.Concat(text[..57], "...");
}
