using Monitoring.Api.Audit;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.Security;
using Microsoft.Extensions.Options;

namespace Monitoring.Api.Security;

/// <param name="User">The person the key belongs to (a user id): what it acknowledges or resolves, it does as them.</param>
public sealed record CreateKeyRequest(string? Name, string? Role, string? User = null);

public sealed record KeyResponse(string Id, string Name, string Role, string Source, DateTimeOffset? CreatedAt, string? CreatedBy, string? User);

public sealed record CreatedKeyResponse(string Id, string Name, string Role, string Key, string? User);

public sealed record IngestTokenResponse(string Id, string ServerId, string Token);

/// <summary>API keys (admin) and per-server ingest tokens. A key or token is shown once, when made; only its hash is kept.</summary>
public static class KeyEndpoints
{
    public static void MapKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys").WithTags("Keys")
            .Audited("key", async (grains, id) => ((await grains.GetGrain<IApiKeyCatalogGrain>(IApiKeyCatalogGrain.Key).GetIfChangedAsync(-1))?.Keys ?? [])
                .FirstOrDefault(k => k.Id == id) is { } k ? new KeyResponse(k.Id, k.Name, k.Role.ToString().ToLowerInvariant(), "api", k.CreatedAt, k.CreatedBy, k.User) : null);

        keys.MapPost("/", async (CreateKeyRequest request, HttpContext context, IGrainFactory grains, ApiKeyResolver resolver, TimeProvider time) =>
        {
            var errors = new RequestErrors();
            if (!Ids.IsValid(request.Name)) errors.Add("name", $"is required: {Ids.Describe}");
            if (request.Role is null || !Enum.TryParse<Role>(request.Role, true, out var role) || !Enum.IsDefined(role) || int.TryParse(request.Role, out _))
            {
                errors.Add("role", "is required: reader, operator or admin");
                role = Role.Reader;
            }
            if (request.User is not null && (!Ids.IsValid(request.User) || await grains.GetGrain<Monitoring.OnCall.IUserGrain>(request.User).GetAsync() is null))
            {
                errors.Add("user", $"unknown user '{request.User}': a key may belong to a person of /api/users");
            }
            if (errors.Any) return ProblemResults.Invalid(errors.ToArray());
            var (id, key) = KeyMaterial.New(KeyMaterial.ApiKeyPrefix);
            var stored = new StoredApiKey(id, request.Name!, role, KeyMaterial.Hash(key), time.GetUtcNow(), context.User.Identity?.Name ?? "anonymous") { User = request.User };
            if (ProblemResults.From(await grains.GetGrain<IApiKeyCatalogGrain>(IApiKeyCatalogGrain.Key).CreateAsync(stored), "key", id) is { } problem) return problem;
            resolver.Invalidate();
            return TypedResults.Created($"/api/keys/{id}", new CreatedKeyResponse(id, stored.Name, role.ToString().ToLowerInvariant(), key, stored.User));
        });

        keys.MapGet("/", async (ApiKeyResolver resolver, IOptionsMonitor<AuthOptions> options) =>
        {
            resolver.Invalidate();
            var managed = await resolver.CurrentAsync();
            return TypedResults.Ok(Monitoring.Api.Contracts.Page<KeyResponse>.All([.. options.CurrentValue.Keys
                .Select(k => new KeyResponse("", k.Name, k.Role.ToString().ToLowerInvariant(), "configuration", null, null, k.User))
                .Concat(managed.Keys.Select(k => new KeyResponse(k.Id, k.Name, k.Role.ToString().ToLowerInvariant(), "api", k.CreatedAt, k.CreatedBy, k.User)))]));
        });

        keys.MapDelete("/{id}", async (string id, IGrainFactory grains, ApiKeyResolver resolver) =>
        {
            if (ProblemResults.From(await grains.GetGrain<IApiKeyCatalogGrain>(IApiKeyCatalogGrain.Key).RevokeAsync(id), "key", id) is { } problem) return problem;
            resolver.Invalidate();
            return Results.NoContent();
        });

        // The token is never recorded: the entry names the server, the action says whether a token was made or revoked.
        var tokens = app.MapGroup("/api/servers/{id}/ingest-tokens").WithTags("Servers")
            .Audited("ingest-token", (_, _) => Task.FromResult<object?>(null));

        tokens.MapPost("/", async (string id, IGrainFactory grains) =>
        {
            var (tokenId, token) = KeyMaterial.New(KeyMaterial.IngestTokenPrefix);
            var result = await grains.GetGrain<Monitoring.Servers.IMcpServerGrain>(id).AddIngestTokenAsync(tokenId, KeyMaterial.Hash(token));
            if (ProblemResults.From(result, "server", id) is { } problem) return problem;
            return TypedResults.Created($"/api/servers/{id}/ingest-tokens/{tokenId}", new IngestTokenResponse(tokenId, id, token));
        });

        tokens.MapDelete("/{tokenId}", async (string id, string tokenId, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<Monitoring.Servers.IMcpServerGrain>(id).RevokeIngestTokenAsync(tokenId), "ingest token", tokenId) ?? Results.NoContent());
    }
}
