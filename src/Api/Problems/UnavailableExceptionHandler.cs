using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Monitoring.Api.Problems;

/// <summary>
/// The cluster could not take a request now: a silo is failing over, a grain call timed out, the storage is out of
/// connections or briefly unreachable. That is a 503 with Retry-After, which clients and collectors retry, never a 500
/// and never a stack trace. Programming errors are not caught here: they stay 500s and are logged.
/// </summary>
public sealed class UnavailableExceptionHandler(IProblemDetailsService problems, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 2;

    /// <summary>How Orleans words a call on an activation it has put away (GrainRuntime's context check).</summary>
    private const string InvalidActivation = "Attempt to access an invalid activation";

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsTransient(exception))
        {
            return false;
        }
        logger.LogWarning("{Method} {Path} answered 503: {Reason}", context.Request.Method, context.Request.Path, exception.GetType().Name);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Try again shortly",
                Detail = "The cluster could not take this request now (a silo is failing over, or the storage is busy). Nothing was lost: send it again.",
            },
        });
    }

    public static bool IsTransient(Exception exception) => exception switch
    {
        Monitoring.Hosting.Persistence.StorageUnavailableException => true,
        Npgsql.NpgsqlException => true,
        TimeoutException => true,
        SiloUnavailableException => true,
        OrleansMessageRejectionException => true,
        Orleans.Runtime.Messaging.ConnectionFailedException => true,
        GatewayTooBusyException => true,
        // A grain's state changed under an activation a silo's death left behind: it is put away, and the request sent
        // again reaches the one that holds the latest state.
        Orleans.Storage.InconsistentStateException => true,
        ClientNotAvailableException => true,
        // After a silo's death the cluster can find a grain activated twice and put one activation away; a request it was
        // carrying fails when it next asks the runtime for anything. Sent again, it reaches the activation that stays.
        InvalidOperationException { Message: var message } when message.StartsWith(InvalidActivation, StringComparison.Ordinal) => true,
        OrleansException { InnerException: { } inner } => IsTransient(inner),
        AggregateException { InnerExceptions.Count: > 0 } aggregate => aggregate.InnerExceptions.All(IsTransient),
        _ => false,
    };
}
