using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Monitoring.Api.Problems;

/// <summary>
/// What every request must be before an endpoint sees it, checked in one place rather than route by route:
/// <list type="bullet">
/// <item>a JSON body is UTF-8 (an unknown charset is 415), valid UTF-8, without an unpaired surrogate escape, and no
/// object in it names a member twice (400 with the JSON path): so a body a grain would choke on never reaches one;</item>
/// <item>the URL is not absurdly long (414) and route values are ids, not whitespace, control characters or
/// megabytes (404).</item>
/// </list>
/// Every refusal is application/problem+json and changes nothing.
/// </summary>
public sealed class RequestGuards(RequestDelegate next, IProblemDetailsService problems)
{
    public const int MaxPathLength = 4096;
    public const int MaxQueryLength = 16 * 1024;
    public const int MaxRouteValueLength = 512;
    private const int MaxDepth = 64;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if ((request.Path.Value?.Length ?? 0) > MaxPathLength || request.QueryString.Value?.Length > MaxQueryLength)
        {
            await RefuseAsync(context, StatusCodes.Status414UriTooLong, "The URL is too long",
                $"Paths are at most {MaxPathLength} characters and query strings at most {MaxQueryLength}.");
            return;
        }
        foreach (var (name, value) in request.RouteValues)
        {
            if (value is string text && !IsRouteValue(text))
            {
                await RefuseAsync(context, StatusCodes.Status404NotFound, "Not found",
                    $"The {name} in the path is not one this product makes: ids are 1-{MaxRouteValueLength} printable characters, without blanks or control characters.");
                return;
            }
        }
        if (request.ContentLength is 0 || request.ContentLength is null && !request.Headers.ContainsKey(HeaderNames.TransferEncoding))
        {
            await next(context);
            return;
        }
        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AcceptsEncodedBody>() is not null)
            {
                await next(context); // such an endpoint (OTLP) decompresses, then checks JSON with Check
                return;
            }
            await RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, "The request could not be read",
                $"Content-Encoding '{Shorten(encoding)}' is not accepted here; send the body uncompressed.");
            return;
        }
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type))
        {
            await next(context); // binding answers 415 for a body it cannot read
            return;
        }
        if (type.Charset.HasValue && !IsUtf8(type.Charset.Value))
        {
            await RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, "The request could not be read",
                $"Send the body as UTF-8 (application/json; charset=utf-8), not '{Shorten(type.Charset.Value.ToString())}'.");
            return;
        }
        if (!type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && !type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        // Read once into memory and hand the endpoint the same bytes (EnableBuffering would spill bodies over 30 KB to a
        // temporary file and read them back: a bulk push paid that on every request).
        byte[] body;
        using (var buffer = new MemoryStream(request.ContentLength is > 0 and <= 64 * 1024 * 1024 ? (int)request.ContentLength.Value : 0))
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted); // Kestrel stops this at the body size limit (413)
            body = buffer.ToArray();
        }
        request.Body = new MemoryStream(body, writable: false);
        if (Check(body) is { } problem)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid", problem);
            return;
        }
        await next(context);
    }

    /// <summary>What is wrong with a JSON body that a JSON parser alone lets through; null when nothing is.</summary>
    public static string? Check(ReadOnlySpan<byte> body)
    {
        if (!Utf8.IsValid(body))
        {
            var chars = System.Buffers.ArrayPool<char>.Shared.Rent(body.Length);
            try
            {
                Utf8.ToUtf16(body, chars, out var read, out _, replaceInvalidSequences: false);
                return $"The body is not valid UTF-8 (at byte {read + 1}).";
            }
            finally
            {
                System.Buffers.ArrayPool<char>.Shared.Return(chars);
            }
        }
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        // One frame per depth, reused: a bulk push holds tens of thousands of objects, and this runs before every JSON
        // endpoint, so paths are only spelled out when something is wrong and names are compared as bytes.
        var frames = new List<Frame>();
        var depth = 0;
        Frame? Top() => depth == 0 ? null : frames[depth - 1];
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (frames.Count == depth) frames.Add(new Frame());
                        frames[depth].Reset(Top(), reader.TokenType == JsonTokenType.StartObject);
                        depth++;
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        depth--;
                        Top()?.Done();
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = Top()!;
                        var start = (int)reader.TokenStartIndex + 1;
                        if (reader.ValueIsEscaped && !TryText(ref reader, out _)) return $"{frame.Path(body)} has a member name with an unpaired surrogate escape (such as \\ud800).";
                        if (!frame.AddName(body, start, reader.ValueSpan.Length, reader.ValueIsEscaped, out var name))
                        {
                            return $"{frame.Path(body)} names '{Shorten(name)}' twice; every member may appear once.";
                        }
                        break;
                    case JsonTokenType.String:
                        if (reader.ValueIsEscaped && !TryText(ref reader, out _))
                        {
                            return $"{(Top() is { } at ? at.ChildPath(body) : "$")} has an unpaired surrogate escape (such as \\ud800); text must be valid Unicode.";
                        }
                        Top()?.Done();
                        break;
                    default:
                        Top()?.Done();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null; // malformed JSON: model binding says where, with its own message
        }
        return null;
    }

    /// <summary>The value as text; false when its escapes leave an unpaired surrogate.</summary>
    private static bool TryText(ref Utf8JsonReader reader, out string text)
    {
        text = "";
        if (!reader.ValueIsEscaped)
        {
            text = reader.GetString() ?? "";
            return true;
        }
        try
        {
            text = reader.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return false;
        }
        return true;
    }

    private static bool IsRouteValue(string value) =>
        value.Length is > 0 and <= MaxRouteValueLength && !string.IsNullOrWhiteSpace(value)
        && !value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);

    private static bool IsUtf8(Microsoft.Extensions.Primitives.StringSegment charset) =>
        charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
        || charset.Equals("\"utf-8\"", StringComparison.OrdinalIgnoreCase);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private async Task RefuseAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    /// <summary>
    /// Where the reader is, one per depth: the enclosing frame, the current member (as a range of the body) or index,
    /// and the member names seen, as ranges compared byte by byte (decoded strings only once a name is escaped).
    /// </summary>
    private sealed class Frame
    {
        private readonly List<(int Start, int Length)> _names = [];
        private HashSet<string>? _decoded;
        private Frame? _parent;
        private bool _isObject;
        private (int Start, int Length, bool Escaped) _member;
        private int _index;

        public void Reset(Frame? parent, bool isObject)
        {
            (_parent, _isObject, _member, _index, _decoded) = (parent, isObject, default, 0, null);
            _names.Clear();
        }

        /// <summary>False when the object already has this member; <paramref name="name"/> is then the name.</summary>
        public bool AddName(ReadOnlySpan<byte> body, int start, int length, bool escaped, out string name)
        {
            name = "";
            _member = (start, length, escaped);
            if (_decoded is null && !escaped && _names.Count < 16)
            {
                var candidate = body.Slice(start, length);
                foreach (var (s, l) in _names)
                {
                    if (body.Slice(s, l).SequenceEqual(candidate))
                    {
                        name = Encoding.UTF8.GetString(candidate);
                        return false;
                    }
                }
                _names.Add((start, length));
                return true;
            }
            if (_decoded is null)
            {
                _decoded = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (s, l) in _names) _decoded.Add(Decode(body, s, l, false));
            }
            name = Decode(body, start, length, escaped);
            return _decoded.Add(name);
        }

        public string Path(ReadOnlySpan<byte> body) => _parent is null ? "$" : _parent.ChildPath(body);

        public string ChildPath(ReadOnlySpan<byte> body) =>
            _isObject ? $"{Path(body)}.{Decode(body, _member.Start, _member.Length, _member.Escaped)}" : $"{Path(body)}[{_index}]";

        public void Done()
        {
            if (!_isObject) _index++;
        }

        private static string Decode(ReadOnlySpan<byte> body, int start, int length, bool escaped)
        {
            if (!escaped) return Encoding.UTF8.GetString(body.Slice(start, length));
            var quoted = body.Slice(start - 1, length + 2);
            var reader = new Utf8JsonReader(quoted);
            reader.Read();
            try { return reader.GetString() ?? ""; } catch (InvalidOperationException) { return Encoding.UTF8.GetString(body.Slice(start, length)); }
        }
    }
}

/// <summary>Marks an endpoint that reads a compressed body itself (Content-Encoding), and checks a JSON one with <see cref="RequestGuards.Check"/>.</summary>
public sealed class AcceptsEncodedBody;
