using Monitoring.Api.Config.Documents;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Api.Config;
using Monitoring.Api.Problems;
using Monitoring.Configuration;

namespace Monitoring.Cli.Documents;

/// <summary>What the offline check found: errors refuse the document; warnings are what only the cluster can answer.</summary>
public sealed record CheckResult(ConfigSet? Set, List<FileError> Errors, List<FileError> Warnings);

/// <summary>
/// The checks the cluster runs on a document, run here without it: the API's reading of every field (the same types
/// the endpoints bind), then the grains' own (the condition language, templates, channel configs, references within
/// the document). What needs the cluster (what exists outside the files, who owns it, the outbound policy) is left to
/// plan and apply, and said so.
/// </summary>
public static class OfflineChecks
{
    /// <summary>The API's binding: web names, unknown fields refused, numbers strict, enums by name.</summary>
    public static readonly JsonSerializerOptions Binding = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private static readonly Lazy<ConfigChecks> Checks = new(() =>
    {
        // The grains' services with the product's defaults: the cluster's own settings (its outbound policy) are checked by plan and apply.
        var services = new ServiceCollection().AddLogging();
        // The cluster's outbound policy is its own (loopback is refused in production, allowed on a laptop): offline, only
        // what every policy refuses (metadata and link-local addresses) is an error; plan and apply check the rest.
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection([new("Outbound:AllowLoopback", "true"), new("Outbound:AllowPrivate", "true")]).Build());
        services.AddOutboundGuard();
        services.AddMonitoringGrains();
        return services.BuildServiceProvider().GetRequiredService<ConfigChecks>();
    });

    public static CheckResult Check(DocumentFiles files, bool secretsRequired)
    {
        var errors = new List<FileError>(files.Errors);
        var warnings = new List<FileError>();
        if (errors.Count > 0) return new CheckResult(null, errors, warnings);
        var document = (JsonObject)files.Document.DeepClone();
        var unresolved = SecretReferences.Resolve(document, files, secretsRequired, errors);
        warnings.AddRange(unresolved.Select(u => new FileError(files.SourceOf(u.Path), u.Path, $"{u.Reason}; the value is checked where the file is applied")));
        ConfigDocument? read;
        try
        {
            read = document.Deserialize<ConfigDocument>(Binding);
        }
        catch (JsonException e)
        {
            var path = Path(e.Path);
            var what = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "is not a known field"
                : e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "has the wrong type for this field"
                : "cannot be read: " + e.Message.Split(" Path:")[0];
            errors.Add(new FileError(files.SourceOf(path), path, what));
            return new CheckResult(null, errors, warnings);
        }
        if (read is null)
        {
            errors.Add(new FileError(files.SourceOf(""), "", "the document is empty"));
            return new CheckResult(null, errors, warnings);
        }
        var requestErrors = new RequestErrors();
        var set = read.ToSet(DateTimeOffset.UtcNow, requestErrors);
        var skipped = unresolved.Select(u => u.Path).ToHashSet(StringComparer.Ordinal);
        errors.AddRange(requestErrors.ToArray().Where(e => !skipped.Contains(e.Field)).Select(e => new FileError(files.SourceOf(e.Field), e.Field, e.Message)));
        if (set is null) return new CheckResult(null, errors, warnings);

        var declared = set.Keys.ToHashSet();
        foreach (var reference in ConfigChecks.References(set).Where(r => !declared.Contains(r.Key)))
        {
            warnings.Add(new FileError(files.SourceOf(reference.Field), reference.Field,
                $"'{reference.Key.Id}' is not {ConfigChecks.Article(reference.Key.Kind)} of these files; the cluster must have it (checked by plan and apply)"));
        }
        errors.AddRange(Checks.Value.Check(set, _ => true).Where(e => !skipped.Contains(e.Field)).Select(e => new FileError(files.SourceOf(e.Field), e.Field, e.Message)));
        return new CheckResult(errors.Count == 0 ? set : null, errors, warnings);
    }

    /// <summary>The document as the cluster takes it, secrets resolved: the body of plan and apply.</summary>
    public static JsonObject Resolved(DocumentFiles files, List<FileError> errors)
    {
        var document = (JsonObject)files.Document.DeepClone();
        SecretReferences.Resolve(document, files, required: true, errors);
        return document;
    }

    /// <summary>"$.rules[3].for" as the checks write it: "rules[3].for".</summary>
    private static string Path(string? jsonPath) => jsonPath is null or "$" ? "" : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
}
