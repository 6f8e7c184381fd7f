using System.Collections.Concurrent;
using System.Globalization;
using Superpower;
using Superpower.Display;
using Superpower.Model;
using Superpower.Parsers;
using Superpower.Tokenizers;

namespace Monitoring.Rules.Conditions;

public enum ConditionToken
{
    None,
    [Token(Description = "metric name")] Identifier,
    [Token(Description = "number")] Number,
    [Token(Example = "(")] LParen,
    [Token(Example = ")")] RParen,
    [Token(Example = ">")] Greater,
    [Token(Example = ">=")] GreaterOrEqual,
    [Token(Example = "<")] Less,
    [Token(Example = "<=")] LessOrEqual,
    [Token(Example = "==")] Equal,
    [Token(Example = "!=")] NotEqual,
    [Token(Example = "and")] And,
    [Token(Example = "or")] Or,
    [Token(Example = "not")] Not,
}

/// <summary>Where a condition is wrong: 1-based column, and what was expected there.</summary>
public sealed record ConditionError(int Column, string Message);

/// <summary>
/// The rule condition language: comparisons of metrics and numbers, combined with and/or/not and parentheses,
/// e.g. <c>error_rate &gt; 0.05 and requests_per_second &gt;= 1</c>.
/// </summary>
public static class ConditionParser
{
    public const int MaxLength = 1024;
    public const int MaxDepth = 32;

    private static readonly Tokenizer<ConditionToken> Tokenizer = new TokenizerBuilder<ConditionToken>()
        .Ignore(Span.WhiteSpace)
        .Match(Character.EqualTo('('), ConditionToken.LParen)
        .Match(Character.EqualTo(')'), ConditionToken.RParen)
        .Match(Span.EqualTo(">="), ConditionToken.GreaterOrEqual)
        .Match(Span.EqualTo("<="), ConditionToken.LessOrEqual)
        .Match(Span.EqualTo("=="), ConditionToken.Equal)
        .Match(Span.EqualTo("!="), ConditionToken.NotEqual)
        .Match(Character.EqualTo('>'), ConditionToken.Greater)
        .Match(Character.EqualTo('<'), ConditionToken.Less)
        .Match(Span.Regex(@"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"), ConditionToken.Number, requireDelimiters: true)
        .Match(Span.EqualTo("and"), ConditionToken.And, requireDelimiters: true)
        .Match(Span.EqualTo("or"), ConditionToken.Or, requireDelimiters: true)
        .Match(Span.EqualTo("not"), ConditionToken.Not, requireDelimiters: true)
        .Match(Identifier.CStyle, ConditionToken.Identifier, requireDelimiters: true)
        .Build();

    private static readonly TokenListParser<ConditionToken, Operand> Operand =
        Token.EqualTo(ConditionToken.Number)
            .Select(t => (Operand)new NumberOperand(double.Parse(t.ToStringValue(), NumberStyles.Float, CultureInfo.InvariantCulture)))
        .Or(Token.EqualTo(ConditionToken.Identifier).Select(t => (Operand)new MetricOperand(t.ToStringValue())));

    private static readonly TokenListParser<ConditionToken, ComparisonOperator> Operator =
        Token.EqualTo(ConditionToken.GreaterOrEqual).Value(ComparisonOperator.GreaterOrEqual)
        .Or(Token.EqualTo(ConditionToken.LessOrEqual).Value(ComparisonOperator.LessOrEqual))
        .Or(Token.EqualTo(ConditionToken.Equal).Value(ComparisonOperator.Equal))
        .Or(Token.EqualTo(ConditionToken.NotEqual).Value(ComparisonOperator.NotEqual))
        .Or(Token.EqualTo(ConditionToken.Greater).Value(ComparisonOperator.Greater))
        .Or(Token.EqualTo(ConditionToken.Less).Value(ComparisonOperator.Less));

    private static readonly TokenListParser<ConditionToken, Condition> ComparisonParser =
        from left in Operand
        from op in Operator
        from right in Operand
        select (Condition)new Comparison(left, op, right);

    private static readonly TokenListParser<ConditionToken, Condition> Group =
        from open in Token.EqualTo(ConditionToken.LParen)
        from inner in Parse.Ref(() => Expression!)
        from close in Token.EqualTo(ConditionToken.RParen)
        select inner;

    private static readonly TokenListParser<ConditionToken, Condition> Unary =
        (from not in Token.EqualTo(ConditionToken.Not)
         from inner in Parse.Ref(() => Unary!)
         select (Condition)new NotCondition(inner))
        .Or(Group)
        .Or(ComparisonParser);

    private static readonly TokenListParser<ConditionToken, Condition> Conjunction =
        Parse.Chain(Token.EqualTo(ConditionToken.And), Unary, (_, l, r) => new AndCondition(l, r));

    private static readonly TokenListParser<ConditionToken, Condition> Expression =
        Parse.Chain(Token.EqualTo(ConditionToken.Or), Conjunction, (_, l, r) => new OrCondition(l, r));

    private static readonly TokenListParser<ConditionToken, Condition> Whole = Expression.AtEnd();

    private static readonly ConcurrentDictionary<string, Condition> Compiled = new(StringComparer.Ordinal);

    public static bool TryParse(string? text, out Condition condition, out ConditionError? error)
    {
        condition = null!;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = new ConditionError(1, "a condition is required, e.g. \"error_rate > 0.05\"");
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = new ConditionError(MaxLength + 1, $"the condition is longer than {MaxLength} characters");
            return false;
        }

        var tokens = Tokenizer.TryTokenize(text);
        if (!tokens.HasValue)
        {
            error = new ConditionError(tokens.ErrorPosition.Column, Describe(tokens.ErrorPosition, tokens.FormatErrorMessageFragment()));
            return false;
        }

        var depthError = CheckDepth(tokens.Value);
        if (depthError is not null)
        {
            error = depthError;
            return false;
        }

        var parsed = Whole.TryParse(tokens.Value);
        if (!parsed.HasValue)
        {
            var position = parsed.ErrorPosition.HasValue ? parsed.ErrorPosition : new Position(text.Length, 1, text.Length + 1);
            error = new ConditionError(position.Column, Describe(position, parsed.FormatErrorMessageFragment()));
            return false;
        }

        foreach (var token in tokens.Value)
        {
            if (token.Kind == ConditionToken.Identifier && !MetricNames.IsKnown(token.ToStringValue()))
            {
                var column = token.Span.Position.Column;
                error = new ConditionError(column,
                    $"unknown metric '{token.ToStringValue()}' at column {column}; expected one of: {string.Join(", ", MetricNames.All)}");
                return false;
            }
            if (token.Kind == ConditionToken.Number
                && !double.IsFinite(double.Parse(token.ToStringValue(), NumberStyles.Float, CultureInfo.InvariantCulture)))
            {
                var column = token.Span.Position.Column;
                var literal = token.ToStringValue();
                error = new ConditionError(column,
                    $"the number {(literal.Length <= 24 ? literal : literal[..24] + "…")} at column {column} is out of range; numbers must be finite (at most about 1.8e308)");
                return false;
            }
        }

        condition = parsed.Value;
        return true;
    }

    /// <summary>Parses a condition that was validated on write; compiled conditions are shared per process.</summary>
    public static Condition Compile(string text) => Compiled.GetOrAdd(text, static t =>
        TryParse(t, out var condition, out var error)
            ? condition
            : throw new FormatException($"invalid condition '{t}': {error!.Message}"));

    private static string Describe(Position position, string fragment) => $"at column {position.Column}: {fragment}";

    private static ConditionError? CheckDepth(TokenList<ConditionToken> tokens)
    {
        // Bounded before parsing, so hostile input cannot recurse the parser into a stack overflow.
        var depth = 0;
        var notRun = 0;
        foreach (var token in tokens)
        {
            notRun = token.Kind == ConditionToken.Not ? notRun + 1 : 0;
            if (token.Kind == ConditionToken.LParen) depth++;
            if (token.Kind == ConditionToken.RParen) depth = Math.Max(0, depth - 1);
            if (depth + notRun > MaxDepth)
            {
                var column = token.Span.Position.Column;
                return new ConditionError(column, $"at column {column}: nesting is deeper than {MaxDepth}");
            }
        }
        return null;
    }
}
