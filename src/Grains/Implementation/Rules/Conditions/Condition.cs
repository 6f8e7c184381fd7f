namespace Monitoring.Rules.Conditions;

public enum ComparisonOperator { Greater, GreaterOrEqual, Less, LessOrEqual, Equal, NotEqual }

/// <summary>
/// A parsed rule condition, evaluated against the current metric values in three-valued logic: true, false, or
/// unknown (null) when a metric it needs has no value, as after a restart or while a server sends nothing. Unknown is
/// never "recovered": `a or b` is true when either is true, `a and b` false when either is false, unknown otherwise.
/// </summary>
public abstract record Condition
{
    public abstract bool? Evaluate(IReadOnlyDictionary<string, double> metrics);

    /// <summary>The metric names the condition reads, so a notification can carry their values.</summary>
    public abstract void CollectMetrics(ISet<string> names);
}

public abstract record Operand
{
    /// <summary>The operand's value, or null when it is a metric with no value now.</summary>
    public abstract double? Value(IReadOnlyDictionary<string, double> metrics);
}

public sealed record NumberOperand(double Number) : Operand
{
    public override double? Value(IReadOnlyDictionary<string, double> metrics) => Number;
    public override string ToString() => Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record MetricOperand(string Name) : Operand
{
    public override double? Value(IReadOnlyDictionary<string, double> metrics) =>
        metrics.TryGetValue(Name, out var value) && !double.IsNaN(value) ? value : null;
    public override string ToString() => Name;
}

public sealed record Comparison(Operand Left, ComparisonOperator Operator, Operand Right) : Condition
{
    public override bool? Evaluate(IReadOnlyDictionary<string, double> metrics)
    {
        if (Left.Value(metrics) is not { } left || Right.Value(metrics) is not { } right)
        {
            return null;
        }
        return Operator switch
        {
            ComparisonOperator.Greater => left > right,
            ComparisonOperator.GreaterOrEqual => left >= right,
            ComparisonOperator.Less => left < right,
            ComparisonOperator.LessOrEqual => left <= right,
            ComparisonOperator.Equal => left == right,
            _ => left != right,
        };
    }

    public override void CollectMetrics(ISet<string> names)
    {
        if (Left is MetricOperand l) names.Add(l.Name);
        if (Right is MetricOperand r) names.Add(r.Name);
    }
}

public sealed record AndCondition(Condition Left, Condition Right) : Condition
{
    public override bool? Evaluate(IReadOnlyDictionary<string, double> metrics) => (Left.Evaluate(metrics), Right.Evaluate(metrics)) switch
    {
        (false, _) or (_, false) => false,
        (true, true) => true,
        _ => null,
    };

    public override void CollectMetrics(ISet<string> names) { Left.CollectMetrics(names); Right.CollectMetrics(names); }
}

public sealed record OrCondition(Condition Left, Condition Right) : Condition
{
    public override bool? Evaluate(IReadOnlyDictionary<string, double> metrics) => (Left.Evaluate(metrics), Right.Evaluate(metrics)) switch
    {
        (true, _) or (_, true) => true,
        (false, false) => false,
        _ => null,
    };

    public override void CollectMetrics(ISet<string> names) { Left.CollectMetrics(names); Right.CollectMetrics(names); }
}

public sealed record NotCondition(Condition Inner) : Condition
{
    public override bool? Evaluate(IReadOnlyDictionary<string, double> metrics) => !Inner.Evaluate(metrics);
    public override void CollectMetrics(ISet<string> names) => Inner.CollectMetrics(names);
}
