using Microsoft.AspNetCore.Http.HttpResults;
using Monitoring.Common;

namespace Monitoring.Api.Problems;

/// <summary>Every error the API answers is application/problem+json saying what was wrong and where.</summary>
public static class ProblemResults
{
    public static IResult Invalid(FieldError[] errors, string title = "The request is invalid") =>
        TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Title = title,
            Detail = string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")),
            Type = "https://datatracker.ietf.org/doc/html/rfc9110#section-15.5.1",
            Extensions =
            {
                ["errors"] = errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            },
        });

    public static IResult NotFound(string kind, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Unknown {kind}", detail: $"There is no {kind} with id '{id}'.");

    /// <summary>503 with Retry-After: the cluster cannot take this now; the same request later will do.</summary>
    public static IResult Unavailable(string detail, int retryAfterSeconds = 1) => new RetryAfterResult(
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again shortly", detail: detail), retryAfterSeconds);

    private sealed class RetryAfterResult(IResult inner, int seconds) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => StatusCodes.Status503ServiceUnavailable;

        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(context);
        }
    }

    public static IResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The request conflicts with the current state", detail: detail);

    /// <summary>The answer to a failed grain write; null when the write succeeded.</summary>
    public static IResult? From(WriteResult result, string kind, string id) => result.Outcome switch
    {
        WriteOutcome.Ok => null,
        WriteOutcome.NotFound => NotFound(kind, id),
        WriteOutcome.Duplicate => Invalid(result.Errors, $"A {kind} with this id already exists"),
        WriteOutcome.Conflict => Conflict(string.Join("; ", result.Errors.Select(e => e.Message))),
        _ => Invalid(result.Errors),
    };
}
