namespace Monitoring.Channels;

/// <summary>
/// One HTTP delivery attempt, as webhooks and Slack make them: the channel's timeout, a non-success status read as
/// a failure (with its Retry-After), and every network failure classified instead of thrown. A success is handed to
/// the caller to read (Slack's Web API answers JSON).
/// </summary>
public static class HttpDelivery
{
    public static async Task<SendResult> SendAsync(
        HttpClient client, HttpRequestMessage request, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken,
        Func<HttpResponseMessage, CancellationToken, Task<SendResult>>? readSuccess = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await client.SendAsync(request, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                return SendResult.FromStatus(response.StatusCode, response.ReasonPhrase, SendResult.RetryAfterOf(response, time.GetUtcNow()));
            }
            return readSuccess is null ? SendResult.Success() : await readSuccess(response, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SendResult.Failure($"no answer within {timeout.TotalSeconds:0.#}s");
        }
        catch (HttpRequestException e) when (Outbound.Blocked.Find(e) is { } blocked)
        {
            return SendResult.Failure(blocked.Message, retryable: false);
        }
        catch (HttpRequestException e)
        {
            return SendResult.Failure(e.HttpRequestError == HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}");
        }
    }
}
