using System.Diagnostics;

namespace Monitoring.Api.Hosting;

/// <summary>Records the seed's request metrics for every API request, by route template so the labels stay bounded.</summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next)
{
    private const string Transport = "http";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/metrics"))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        var body = context.Response.Body;
        var counting = new CountingStream(body);
        context.Response.Body = counting;
        ApiRequestMetrics.ActiveConnections.WithLabels(Transport).Inc();
        try
        {
            await next(context);
        }
        finally
        {
            ApiRequestMetrics.ActiveConnections.WithLabels(Transport).Dec();
            context.Response.Body = body;
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            var method = $"{context.Request.Method} {route}";
            ApiRequestMetrics.Requests.WithLabels(method, context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), Transport,
                context.User.Identity?.Name ?? "anonymous").Inc();
            ApiRequestMetrics.Duration.WithLabels(method, Transport).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            ApiRequestMetrics.RequestSize.WithLabels(method, Transport).Observe(context.Request.ContentLength ?? 0);
            ApiRequestMetrics.ResponseSize.WithLabels(method, Transport).Observe(counting.Written);
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Written += count;
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
