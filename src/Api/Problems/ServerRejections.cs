using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace Monitoring.Api.Problems;

/// <summary>
/// Gives Kestrel's own refusals a problem body. A request Kestrel cannot parse (a NUL in the path, a malformed
/// header, a request line or headers past their limits) never reaches the pipeline: Kestrel answers it itself with
/// an empty 4xx and closes the connection. This connection middleware recognises exactly that response as it is
/// written (the status line followed by <c>Content-Length: 0</c> and <c>Connection: close</c>, which no endpoint of
/// the product writes) and writes an <c>application/problem+json</c> one in its place. Every other write passes
/// straight through.
/// </summary>
public static class ServerRejections
{
    /// <summary>Kestrel's limits, here so the problem bodies and docs/security.md can name them.</summary>
    public const int MaxRequestLineBytes = 256 * 1024;
    public const int MaxHeaderBytes = 32 * 1024;
    public const int MaxHeaderCount = 100;

    public static IConnectionBuilder UseProblemRejections(this IConnectionBuilder builder) =>
        builder.Use(next => context =>
        {
            context.Transport = new ShapedPipe(context.Transport);
            return next(context);
        });

    private static readonly byte[] Prefix = "HTTP/1.1 "u8.ToArray();
    private static readonly byte[] EmptyAndClose = "\r\nContent-Length: 0\r\nConnection: close\r\n"u8.ToArray();

    /// <summary>The response to write instead, when these bytes start Kestrel's own empty refusal; null otherwise.</summary>
    public static byte[]? Replacement(ReadOnlySpan<byte> written)
    {
        if (written.Length < 64 || !written.StartsWith(Prefix)) return null;
        var status = written.Slice(Prefix.Length, 3);
        if (status[0] is not ((byte)'4' or (byte)'5') || !char.IsAsciiDigit((char)status[1]) || !char.IsAsciiDigit((char)status[2])) return null;
        var lineEnd = written.IndexOf("\r\n"u8);
        if (lineEnd < 0 || !written[lineEnd..].StartsWith(EmptyAndClose)) return null;
        var code = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
        var reason = Encoding.ASCII.GetString(written[(Prefix.Length + 4)..lineEnd]);
        var detail = code switch
        {
            400 => "The request is not valid HTTP/1.1 and was not read: a NUL or control character in the URL, a malformed request line or header, or broken framing.",
            414 => $"The request line is longer than {MaxRequestLineBytes / 1024} KiB; paths are at most {RequestGuards.MaxPathLength} characters and query strings {RequestGuards.MaxQueryLength / 1024} KiB.",
            431 => $"The request headers are larger than {MaxHeaderBytes / 1024} KiB in total or more than {MaxHeaderCount}.",
            _ => "The server refused the request before reading it.",
        };
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            type = "https://tools.ietf.org/html/rfc9110",
            title = reason,
            status = code,
            detail,
        });
        var head = $"HTTP/1.1 {code} {reason}\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\nDate: {DateTimeOffset.UtcNow:R}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }

    private sealed class ShapedPipe(IDuplexPipe inner) : IDuplexPipe
    {
        public PipeReader Input { get; } = inner.Input;
        public PipeWriter Output { get; } = new ShapedWriter(inner.Output);
    }

    /// <summary>Delegates every call; at each Advance it looks at the bytes just written, which costs a prefix compare.</summary>
    private sealed class ShapedWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _last;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _last = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && bytes <= _last.Length && Replacement(_last.Span[..bytes]) is { } replacement)
            {
                // The refusal's bytes were never committed: the next span starts where they did, so they are overwritten.
                inner.Write(replacement);
                _last = default;
                return;
            }
            _last = default;
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
