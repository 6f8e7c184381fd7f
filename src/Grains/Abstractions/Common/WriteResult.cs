namespace Monitoring.Common;

public enum WriteOutcome
{
    Ok,
    Invalid,
    NotFound,
    Duplicate,
    Conflict,
}

/// <summary>One thing wrong with a request: where (a JSON path or field name) and what.</summary>
[GenerateSerializer, Immutable, Alias("mcp.FieldError")]
public sealed record FieldError([property: Id(0)] string Field, [property: Id(1)] string Message);

/// <summary>
/// The answer to a write. Grains return this instead of throwing, so a validation failure crosses
/// the cluster boundary as data and the API can turn it into a problem+json response.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.WriteResult")]
public sealed record WriteResult(
    [property: Id(0)] WriteOutcome Outcome,
    [property: Id(1)] FieldError[] Errors)
{
    public static readonly WriteResult Ok = new(WriteOutcome.Ok, []);
    public static readonly WriteResult NotFound = new(WriteOutcome.NotFound, []);

    public bool Succeeded => Outcome == WriteOutcome.Ok;

    public static WriteResult Invalid(FieldError[] errors) => new(WriteOutcome.Invalid, errors);
    public static WriteResult Invalid(string field, string message) => new(WriteOutcome.Invalid, [new FieldError(field, message)]);
    public static WriteResult Conflict(string message) => new(WriteOutcome.Conflict, [new FieldError("status", message)]);
    public static WriteResult Duplicate(string id) => new(WriteOutcome.Duplicate, [new FieldError("id", $"'{id}' already exists")]);
}
