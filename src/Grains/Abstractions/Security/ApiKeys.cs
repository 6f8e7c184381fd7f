using System.Security.Cryptography;
using System.Text;
using Monitoring.Common;

namespace Monitoring.Security;

/// <summary>What a caller may do: a reader reads, an operator also acts on alerts, silences and telemetry, an admin does everything.</summary>
public enum Role
{
    /// <summary>May only post alerts (Prometheus's key): below every other role.</summary>
    Sender = 0,
    Reader = 1,
    Operator = 2,
    Admin = 3,
}

/// <summary>An API key as stored: its id, name, role and SHA-256 hash. The key itself is shown once, when created.</summary>
[GenerateSerializer, Immutable, Alias("mcp.StoredApiKey")]
public sealed record StoredApiKey(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Role")] Role Role,
    [property: Id(3), JsonPropertyName("Hash")] string Hash,
    [property: Id(4), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt,
    [property: Id(5), JsonPropertyName("CreatedBy")] string CreatedBy)
{
    /// <summary>The person (a user id) the key belongs to, if any: what it does is done as them.</summary>
    [Id(6), JsonPropertyName("User")] public string? User { get; init; }
}

[GenerateSerializer, Immutable, Alias("mcp.ApiKeySet")]
public sealed record ApiKeySet([property: Id(0), JsonPropertyName("Version")] long Version, [property: Id(1), JsonPropertyName("Keys")] StoredApiKey[] Keys)
{
    public static readonly ApiKeySet Empty = new(0, []);
}

/// <summary>API keys made through the API (besides those in configuration). Small, read through a per-process cache.</summary>
[Alias("mcp.IApiKeyCatalogGrain")]
public interface IApiKeyCatalogGrain : IGrainWithStringKey
{
    public const string Key = "all";

    Task<WriteResult> CreateAsync(StoredApiKey key);

    /// <summary>Revokes a key at once: it no longer authenticates anywhere after the caches refresh.</summary>
    Task<WriteResult> RevokeAsync(string id);

    [AlwaysInterleave]
    Task<ApiKeySet?> GetIfChangedAsync(long knownVersion);
}

/// <summary>Key material: "mcpk_{id}_{secret}" for API keys, "mcpi_{id}_{secret}" for per-server ingest tokens; stored as SHA-256.</summary>
public static class KeyMaterial
{
    public const string ApiKeyPrefix = "mcpk_";
    public const string IngestTokenPrefix = "mcpi_";

    public static (string Id, string Secret) New(string prefix)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{prefix}{id}_{secret}");
    }

    public static string Hash(string presented) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)));

    /// <summary>The id part of a presented key, or null when it has not the shape of one.</summary>
    public static string? IdOf(string presented, string prefix)
    {
        if (!presented.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = presented[prefix.Length..];
        var underscore = rest.IndexOf('_');
        return underscore is 12 ? rest[..underscore] : null;
    }

    /// <summary>Compares a presented key's hash (computed once by the caller) with a stored one, in constant time.</summary>
    public static bool HashesEqual(string presentedHash, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presentedHash), Encoding.ASCII.GetBytes(storedHash));
}
