using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Monitoring.Tests.Support;

public sealed record ReceivedSpan(string Scope, string Name, string TraceId, string SpanId, string ParentSpanId, int Kind, Dictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP trace receiver on 127.0.0.1: it takes what the OpenTelemetry exporter posts to /v1/traces
/// (protobuf) and reads the spans out with a small reader of protobuf's wire format.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public string Endpoint { get; private set; } = "";

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            receiver.Read(buffer.ToArray());
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return receiver;
    }

    // ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) → ScopeSpans.scope(1).name(1), spans(2)
    // → Span.trace_id(1), span_id(2), parent_span_id(4), name(5), kind(6).
    private void Read(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans.Bytes).Where(f => f.Number == 2))
            {
                var fields = Fields(scopeSpans.Bytes).ToList();
                var scope = fields.Where(f => f.Number == 1).SelectMany(f => Fields(f.Bytes)).FirstOrDefault(f => f.Number == 1).Bytes;
                foreach (var span in fields.Where(f => f.Number == 2))
                {
                    var s = Fields(span.Bytes).ToList();
                    string Hex(int n) => Convert.ToHexStringLower(s.FirstOrDefault(f => f.Number == n).Bytes ?? []);
                    // Span.attributes(9) → KeyValue.key(1), value(2) → AnyValue.string_value(1).
                    var attributes = new Dictionary<string, string>();
                    foreach (var attribute in s.Where(f => f.Number == 9))
                    {
                        var kv = Fields(attribute.Bytes).ToList();
                        var key = Encoding.UTF8.GetString(kv.FirstOrDefault(f => f.Number == 1).Bytes ?? []);
                        var text = Fields(kv.FirstOrDefault(f => f.Number == 2).Bytes).FirstOrDefault(f => f.Number == 1).Bytes;
                        if (text is not null) attributes[key] = Encoding.UTF8.GetString(text);
                    }
                    _spans.Enqueue(new ReceivedSpan(Encoding.UTF8.GetString(scope ?? []), Encoding.UTF8.GetString(s.FirstOrDefault(f => f.Number == 5).Bytes ?? []),
                        Hex(1), Hex(2), Hex(4), (int)s.FirstOrDefault(f => f.Number == 6).Value, attributes));
                }
            }
        }
    }

    private readonly record struct Field(int Number, ulong Value, byte[]? Bytes);

    private static IEnumerable<Field> Fields(byte[]? data)
    {
        var position = 0;
        while (data is not null && position < data.Length)
        {
            var key = Varint(data, ref position);
            var number = (int)(key >> 3);
            switch (key & 7)
            {
                case 0:
                    yield return new Field(number, Varint(data, ref position), null);
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(data, ref position);
                    yield return new Field(number, 0, data[position..(position + length)]);
                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"unexpected wire type {key & 7}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
