using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using ModelContextProtocol;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>The reply passed the configured size limit.</summary>
public sealed class ResponseTooLargeException(long limit)
    : IOException($"the reply is larger than the {limit}-byte limit")
{
    public long Limit { get; } = limit;
}

/// <summary>The server answered something that is not what the check asked for (HTML, garbage, the wrong JSON).</summary>
public sealed class UnexpectedReplyException(string message) : Exception(message);

/// <summary>Turns whatever a check threw into a classified outcome and a message fit for an operator (no headers, no secrets).</summary>
public static class CheckFailures
{
    public static (CheckOutcome Outcome, int? HttpStatus, string Message) Classify(Exception exception, bool timedOut)
    {
        if (timedOut)
        {
            return (CheckOutcome.Timeout, null, "no answer within the timeout");
        }
        int? status = null;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Outbound.OutboundBlockedException blocked:
                    return (CheckOutcome.Blocked, status, blocked.Message);
                case ResponseTooLargeException tooLarge:
                    return (CheckOutcome.TooLarge, status, tooLarge.Message);
                case UnexpectedReplyException unexpected:
                    return (CheckOutcome.ProtocolError, status, unexpected.Message);
                case AuthenticationException auth:
                    return (CheckOutcome.Tls, status, $"TLS handshake failed: {auth.Message}");
                case SocketException socket:
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => (CheckOutcome.ConnectionRefused, status, "connection refused"),
                        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain =>
                            (CheckOutcome.Dns, status, $"the host name does not resolve ({socket.SocketErrorCode})"),
                        SocketError.TimedOut => (CheckOutcome.Timeout, status, "the connection timed out"),
                        _ => (CheckOutcome.NetworkError, status, $"network error: {socket.SocketErrorCode}"),
                    };
                case HttpRequestException http:
                    if (http.StatusCode is { } code)
                    {
                        status = (int)code;
                        if (code is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                        {
                            return (CheckOutcome.Unauthorized, status, $"HTTP {status}: the server refused our credentials");
                        }
                    }
                    switch (http.HttpRequestError)
                    {
                        case HttpRequestError.NameResolutionError:
                            return (CheckOutcome.Dns, status, "the host name does not resolve");
                        case HttpRequestError.SecureConnectionError:
                            return (CheckOutcome.Tls, status, "TLS handshake failed" + InnerMessage(http));
                        case HttpRequestError.ConfigurationLimitExceeded:
                            return (CheckOutcome.TooLarge, status, "the reply passed a configured limit");
                        case HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded:
                            return (CheckOutcome.ProtocolError, status, "the server's HTTP reply is malformed or ended early");
                    }
                    if (status is not null)
                    {
                        return (CheckOutcome.HttpError, status, $"HTTP {status}");
                    }
                    break;
                case JsonException json:
                    return (CheckOutcome.ProtocolError, status, $"the reply is not the JSON expected: {json.Message}");
                case McpProtocolException protocol:
                    return (CheckOutcome.ProtocolError, status, $"the server answered with a JSON-RPC error {(int)protocol.ErrorCode}: {protocol.Message}");
                case TimeoutException:
                    return (CheckOutcome.Timeout, status, "no answer within the timeout");
            }
        }
        return exception switch
        {
            McpException mcp => (CheckOutcome.ProtocolError, status, mcp.Message),
            HttpRequestException => (CheckOutcome.NetworkError, status, exception.Message),
            _ => (CheckOutcome.ProtocolError, status, exception.Message),
        };
    }

    private static string InnerMessage(Exception e) => e.InnerException is { } inner ? $": {inner.Message}" : "";
}

/// <summary>Refuses replies over a byte limit: by Content-Length when it is declared, while reading when it is not.</summary>
public sealed class ResponseSizeLimitHandler(long maxBytes) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Content.Headers.ContentLength is { } length && length > maxBytes)
        {
            response.Dispose();
            throw new ResponseTooLargeException(maxBytes);
        }
        var inner = response.Content;
        var limited = new StreamContent(new LimitedStream(await inner.ReadAsStreamAsync(cancellationToken), maxBytes));
        foreach (var header in inner.Headers)
        {
            limited.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        response.Content = limited;
        return response;
    }

    private sealed class LimitedStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            if (_read > maxBytes)
            {
                throw new ResponseTooLargeException(maxBytes);
            }
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
