using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Monitoring.Api.Problems;

/// <summary>
/// Turns a body that would not bind (malformed JSON, a wrong type, a missing body) into a 400 problem naming
/// the JSON path and position, instead of ASP.NET's bare 400.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }
        var detail = bad.InnerException switch
        {
            JsonException json => Describe(json, IBodyLines.Of(context)),
            _ when bad.Message.Contains("no body was provided", StringComparison.OrdinalIgnoreCase) => "A JSON body is required.",
            _ when bad.StatusCode == StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json.",
            _ => "The request could not be read: " + bad.Message.Split('"')[0].TrimEnd(),
        };
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = bad.StatusCode == StatusCodes.Status400BadRequest ? "The request body is not valid" : "The request could not be read",
                Detail = detail,
            },
        });
    }

    private static string Describe(JsonException json, IBodyLines? lines)
    {
        var where = string.IsNullOrEmpty(json.Path) || json.Path == "$" ? "the body" : json.Path;
        // A body sent as YAML was read into JSON first: its line is the one the sender wrote, found by path.
        var position = lines is not null
            ? lines.LineOf(where == "the body" ? "" : where.TrimStart('$').TrimStart('.')) is { } at ? $" (line {at})" : ""
            : json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
        // System.Text.Json's own message names .NET types; say it in JSON terms instead.
        var what = json.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? "has the wrong type for this field"
            : json.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "is not a known field"
                : "is not well-formed JSON";
        return $"{where}{position} {what}.";
    }
}
