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
        request.EnableBuffering();
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted); // Kestrel stops this at the body size limit (413)
            body = buffer.ToArray();
        }
        request.Body.Position = 0;
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
        var frames = new Stack<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        var path = frames.Count == 0 ? "$" : frames.Peek().ChildPath();
                        frames.Push(new Frame(path, reader.TokenType == JsonTokenType.StartObject));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        frames.Pop();
                        if (frames.Count > 0) frames.Peek().Done();
                        break;
                    case JsonTokenType.PropertyName:
                        if (!TryText(ref reader, out var name)) return $"{frames.Peek().Path} has a member name with an unpaired surrogate escape (such as \\ud800).";
                        if (!frames.Peek().Names!.Add(name)) return $"{frames.Peek().Path} names '{Shorten(name)}' twice; every member may appear once.";
                        frames.Peek().Member = name;
                        break;
                    case JsonTokenType.String:
                        if (!TryText(ref reader, out _)) return $"{(frames.Count == 0 ? "$" : frames.Peek().ChildPath())} has an unpaired surrogate escape (such as \\ud800); text must be valid Unicode.";
                        if (frames.Count > 0) frames.Peek().Done();
                        break;
                    default:
                        if (frames.Count > 0) frames.Peek().Done();
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

    /// <summary>Where the reader is: an object's path and the member names seen in it, or an array's and its index.</summary>
    private sealed class Frame(string path, bool isObject)
    {
        public string Path { get; } = path;
        public HashSet<string>? Names { get; } = isObject ? new(StringComparer.Ordinal) : null;
        public string? Member { get; set; }
        private int _index;

        public string ChildPath() => Names is not null ? $"{Path}.{Member}" : $"{Path}[{_index}]";

        public void Done()
        {
            if (Names is null) _index++;
        }
    }
}

/// <summary>Marks an endpoint that reads a compressed body itself (Content-Encoding), and checks a JSON one with <see cref="RequestGuards.Check"/>.</summary>
public sealed class AcceptsEncodedBody;
