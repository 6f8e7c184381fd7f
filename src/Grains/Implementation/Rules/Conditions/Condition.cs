namespace Monitoring.Rules.Conditions;

public enum ComparisonOperator { Greater, GreaterOrEqual, Less, LessOrEqual, Equal, NotEqual }

/// <summary>A parsed rule condition. Evaluate it against a lookup of current metric values.</summary>
public abstract record Condition
{
    public abstract bool Evaluate(IReadOnlyDictionary<string, double> metrics);

    /// <summary>The metric names the condition reads, so a notification can carry their values.</summary>
    public abstract void CollectMetrics(ISet<string> names);
}

public abstract record Operand
{
    public abstract double Value(IReadOnlyDictionary<string, double> metrics);
}

public sealed record NumberOperand(double Number) : Operand
{
    public override double Value(IReadOnlyDictionary<string, double> metrics) => Number;
    public override string ToString() => Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record MetricOperand(string Name) : Operand
{
    // A metric with no value yet compares as NaN, so every comparison with it is false.
    public override double Value(IReadOnlyDictionary<string, double> metrics) =>
        metrics.TryGetValue(Name, out var value) ? value : double.NaN;
    public override string ToString() => Name;
}

public sealed record Comparison(Operand Left, ComparisonOperator Operator, Operand Right) : Condition
{
    public override bool Evaluate(IReadOnlyDictionary<string, double> metrics)
    {
        var left = Left.Value(metrics);
        var right = Right.Value(metrics);
        return Operator switch
        {
            ComparisonOperator.Greater => left > right,
            ComparisonOperator.GreaterOrEqual => left >= right,
            ComparisonOperator.Less => left < right,
            ComparisonOperator.LessOrEqual => left <= right,
            ComparisonOperator.Equal => left == right,
            ComparisonOperator.NotEqual => !double.IsNaN(left) && !double.IsNaN(right) && left != right,
            _ => false,
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
    public override bool Evaluate(IReadOnlyDictionary<string, double> metrics) => Left.Evaluate(metrics) && Right.Evaluate(metrics);
    public override void CollectMetrics(ISet<string> names) { Left.CollectMetrics(names); Right.CollectMetrics(names); }
}

public sealed record OrCondition(Condition Left, Condition Right) : Condition
{
    public override bool Evaluate(IReadOnlyDictionary<string, double> metrics) => Left.Evaluate(metrics) || Right.Evaluate(metrics);
    public override void CollectMetrics(ISet<string> names) { Left.CollectMetrics(names); Right.CollectMetrics(names); }
}

public sealed record NotCondition(Condition Inner) : Condition
{
    public override bool Evaluate(IReadOnlyDictionary<string, double> metrics) => !Inner.Evaluate(metrics);
    public override void CollectMetrics(ISet<string> names) => Inner.CollectMetrics(names);
}
