namespace Monitoring.Api.Problems;

/// <summary>
/// The lines of a body that was sent in another form than the JSON it was read as (a YAML configuration document), so
/// an error found by JSON path is shown at the line the sender wrote.
/// </summary>
public interface IBodyLines
{
    public const string Key = "body.lines";

    /// <summary>The 1-based line of a path such as <c>rules[3].for</c>, or of the nearest value around it.</summary>
    int? LineOf(string path);

    public static IBodyLines? Of(HttpContext context) => context.Items[Key] as IBodyLines;
}
