using Monitoring.Common;

namespace Monitoring.Api.Problems;

/// <summary>Collects what is wrong with a request, by field path, before anything is written.</summary>
public sealed class RequestErrors
{
    private readonly List<FieldError> _errors = [];

    public bool Any => _errors.Count > 0;

    public FieldError[] ToArray() => [.. _errors];

    public void Add(string field, string message) => _errors.Add(new FieldError(field, message));

    public void AddRange(IEnumerable<FieldError> errors) => _errors.AddRange(errors);
}
