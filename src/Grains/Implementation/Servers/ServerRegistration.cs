using Monitoring.Common;

namespace Monitoring.Servers;

/// <summary>
/// A server's registration record and its ingest tokens: what a registration must satisfy before it is stored, and how
/// it is stored (probe headers sealed). What a stored change sets going (checks, rules, the listing) is the grain's.
/// </summary>
internal sealed class ServerRegistration(
    IPersistentState<McpServerState> state,
    Security.SecretSealer sealer,
    Outbound.OutboundGuard outbound,
    TimeProvider time,
    string serverId)
{
    /// <summary>A server holds at most this many ingest tokens at once.</summary>
    public const int MaxIngestTokens = 5;

    /// <summary>True while a registration is being stored: a shard's call meanwhile finds the server registered.</summary>
    public bool Registering { get; private set; }

    /// <summary>Stores a new registration, or answers why not (already registered, an address it can never reach).</summary>
    public async Task<WriteResult> RegisterAsync(McpServer server)
    {
        if (state.State.Server is not null) return WriteResult.Duplicate(serverId);
        if (Unreachable(server) is { } refused) return refused;
        var now = time.GetUtcNow();
        // Whoever registers puts the server into its shard first (ServerShards.RegisterAsync): a shard's call
        // meanwhile finds it registering.
        Registering = true;
        try
        {
            await SaveAsync(server with { CreatedAt = now, UpdatedAt = now });
        }
        finally
        {
            Registering = false;
        }
        return WriteResult.Ok;
    }

    /// <summary>Stores a changed registration and answers the one it replaced; a changed endpoint or transport is found again on the next probe.</summary>
    public async Task<(WriteResult Result, McpServer? Before)> UpdateAsync(McpServer server, bool keepProbeHeaders)
    {
        if (state.State.Server is not { } existing) return (WriteResult.NotFound, null);
        if (Unreachable(server) is { } refused) return (refused, null);
        if (keepProbeHeaders)
        {
            server = server with { Probe = server.Probe with { Headers = existing.Probe.Headers } };
        }
        if (existing.Endpoint != server.Endpoint || existing.Probe.Transport != server.Probe.Transport || existing.Probe.ProtocolVersion != server.Probe.ProtocolVersion)
        {
            state.State.ProbeEra = null;
        }
        await SaveAsync(server with { CreatedAt = existing.CreatedAt, UpdatedAt = time.GetUtcNow() });
        return (WriteResult.Ok, existing);
    }

    public async Task<WriteResult> AddIngestTokenAsync(string id, string hash)
    {
        if (state.State.Server is null) return WriteResult.NotFound;
        if (state.State.IngestTokens.Count >= MaxIngestTokens) return WriteResult.Conflict($"a server has at most {MaxIngestTokens} ingest tokens; revoke one first");
        state.State.IngestTokens[id] = hash;
        await state.WriteStateAsync();
        return WriteResult.Ok;
    }

    public async Task<WriteResult> RevokeIngestTokenAsync(string id)
    {
        if (state.State.Server is null || !state.State.IngestTokens.Remove(id)) return WriteResult.NotFound;
        await state.WriteStateAsync();
        return WriteResult.Ok;
    }

    public bool AcceptsIngestToken(string hash) =>
        state.State.Server is not null && state.State.IngestTokens.Values.Any(stored => Security.KeyMaterial.HashesEqual(hash, stored));

    /// <summary>Removes the record and its tokens.</summary>
    public async Task ClearAsync()
    {
        await state.ClearStateAsync();
        state.State = new McpServerState();
    }

    private async Task SaveAsync(McpServer server)
    {
        state.State.Server = Sealed(server, sealer);
        await state.WriteStateAsync();
    }

    /// <summary>A refusal when an address the server names can never be reached under the outbound policy (metadata, link-local).</summary>
    private WriteResult? Unreachable(McpServer server)
    {
        var errors = new List<FieldError>();
        foreach (var (field, url) in new[] { ("endpoint", server.Endpoint), ("metricsUrl", server.MetricsUrl), ("healthUrl", server.HealthUrl) })
        {
            if (url is not null && outbound.LiteralRefusal(url) is { } reason) errors.Add(new FieldError(field, $"can never be reached: {reason}"));
        }
        return errors.Count > 0 ? WriteResult.Invalid([.. errors]) : null;
    }

    /// <summary>Probe header values (bearer tokens) are sealed at rest; a kept header is already sealed and stays as it is.</summary>
    private static McpServer Sealed(McpServer server, Security.SecretSealer sealer) => server.Probe.Headers.Count == 0 ? server : server with
    {
        Probe = server.Probe with
        {
            Headers = server.Probe.Headers.ToDictionary(h => h.Key, h => h.Value.StartsWith("dp1:", StringComparison.Ordinal) ? h.Value : sealer.Seal(h.Value), StringComparer.OrdinalIgnoreCase),
        },
    };
}
