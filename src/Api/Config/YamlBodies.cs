using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using Monitoring.Api.Config.Documents;
using Monitoring.Api.Problems;
using Monitoring.Common;

namespace Monitoring.Api.Config;

/// <summary>Marks an endpoint whose JSON body may also be sent as YAML (<c>application/yaml</c>).</summary>
public sealed class AcceptsYamlBody;

/// <summary>
/// A configuration document sent as YAML (<c>application/yaml</c>, <c>application/x-yaml</c>, <c>text/yaml</c>) is read
/// as the command line reads a file: every document in it (separated by ---) merged, keys that appear twice refused,
/// aliases and tags refused. It then goes on as the JSON it means, so the endpoint, its guards and its errors are one.
/// An error in the YAML is a 400 naming the line; an error the endpoint finds later is given the line it came from
/// (<see cref="WithLines"/>).
/// </summary>
public sealed class YamlBodies(RequestDelegate next, IProblemDetailsService problems)
{
    /// <summary>The media types read as YAML (listed as accepted, so routing does not answer 415 before this reads them).</summary>
    public static readonly string[] Types = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.GetEndpoint()?.Metadata.GetMetadata<AcceptsYamlBody>() is null
            || !MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !Types.Any(t => type.MediaType.Equals(t, StringComparison.OrdinalIgnoreCase)))
        {
            await next(context);
            return;
        }
        if (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, $"Send the YAML as UTF-8, not '{type.Charset.Value}'.");
            return;
        }
        string text;
        try
        {
            using var reader = new StreamReader(request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true));
            text = await reader.ReadToEndAsync(context.RequestAborted);
        }
        catch (DecoderFallbackException)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "The body is not valid UTF-8.");
            return;
        }
        var files = DocumentFiles.ReadText(text, "body");
        if (files.Errors.Count > 0)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, string.Join("; ", files.Errors.Take(20).Select(e => e.ToString())));
            return;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(files.Document);
        context.Items[IBodyLines.Key] = new Lines(files);
        request.Body = new MemoryStream(json, writable: false);
        request.ContentType = "application/json; charset=utf-8";
        request.ContentLength = json.Length;
        request.Headers.Remove(HeaderNames.TransferEncoding);
        await next(context);
    }

    /// <summary>The errors, each with the line of the YAML body it came from when the body was YAML.</summary>
    public static FieldError[] WithLines(HttpContext context, FieldError[] errors) =>
        IBodyLines.Of(context) is { } lines
            ? [.. errors.Select(e => lines.LineOf(e.Field) is { } line ? e with { Message = $"{e.Message} (line {line})" } : e)]
            : errors;

    private sealed class Lines(DocumentFiles files) : IBodyLines
    {
        public int? LineOf(string path) => files.SourceOf(path) is { Line: > 0 } at ? at.Line : null;
    }

    private ValueTask RefuseAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = status,
                Title = status == StatusCodes.Status400BadRequest ? "The request body is not valid" : "The request could not be read",
                Detail = detail,
            },
        });
    }
}
