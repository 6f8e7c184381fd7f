using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Monitoring.Tests.Support;

/// <summary>
/// A stand-in MCP registry on 127.0.0.1 (no registry can be reached from here): it serves the MCP Registry API's
/// documented list, <c>GET /v0.1/servers</c> with <c>limit</c>, <c>cursor</c> (<c>metadata.nextCursor</c>),
/// <c>updated_since</c> and <c>include_deleted</c>, each item <c>{server: {name, title, version, remotes}, _meta:
/// {"io.modelcontextprotocol.registry/official": {status, isLatest, updatedAt}}}</c>. A test adds, changes and deletes
/// entries, and can make it fail (503) for a while. It records the queries it was asked.
/// </summary>
public sealed class StandInRegistry : IAsyncDisposable
{
    private sealed record Entry(string Name, string? Title, (string Type, string Url)[] Remotes, string Status, DateTimeOffset UpdatedAt);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Func<DateTimeOffset> _now;

    private StandInRegistry(WebApplication app, Func<DateTimeOffset> now) => (_app, _now) = (app, now);

    public string BaseUrl { get; private set; } = "";

    /// <summary>While true, every request is answered 503.</summary>
    public bool Down { get; set; }

    public ConcurrentQueue<string> Queries { get; } = new();

    /// <param name="now">The clock its updatedAt stamps follow (the product's, in tests on a fake clock).</param>
    public static async Task<StandInRegistry> StartAsync(Func<DateTimeOffset> now)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var registry = new StandInRegistry(app, now);
        app.MapGet("/v0.1/servers", (HttpContext context) => registry.List(context.Request.Query));
        await app.StartAsync();
        registry.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return registry;
    }

    private DateTimeOffset Tick() => _now();

    public void Put(string name, params (string Type, string Url)[] remotes) => _entries[name] = new Entry(name, name.Split('/')[^1], remotes, "active", Tick());

    public void Delete(string name) => _entries[name] = _entries[name] with { Status = "deleted", UpdatedAt = Tick() };

    private IResult List(IQueryCollection query)
    {
        Queries.Enqueue(string.Join("&", query.Select(q => $"{q.Key}={q.Value}")));
        if (Down) return Results.StatusCode(503);
        var limit = int.TryParse(query["limit"], out var l) ? Math.Clamp(l, 1, 100) : 30;
        var since = DateTimeOffset.TryParse(query["updated_since"], out var s) ? s : (DateTimeOffset?)null;
        var withDeleted = query["include_deleted"] == "true";
        var all = _entries.Values.Where(e => (withDeleted || e.Status != "deleted") && (since is null || e.UpdatedAt > since))
            .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var cursor = query["cursor"].ToString();
        var page = all.Where(e => cursor.Length == 0 || string.CompareOrdinal(e.Name, cursor) > 0).Take(limit).ToList();
        var next = page.Count == limit && all.Count > 0 && page[^1].Name != all[^1].Name ? page[^1].Name : null;
        var servers = new JsonArray([.. page.Select(e => (JsonNode)new JsonObject
        {
            ["server"] = new JsonObject
            {
                ["name"] = e.Name, ["title"] = e.Title, ["version"] = "1.0.0", ["description"] = "stand-in",
                ["remotes"] = new JsonArray([.. e.Remotes.Select(r => (JsonNode)new JsonObject { ["type"] = r.Type, ["url"] = r.Url })]),
                ["packages"] = new JsonArray(new JsonObject { ["registryType"] = "npm", ["identifier"] = "@example/" + e.Title }),
            },
            ["_meta"] = new JsonObject
            {
                ["io.modelcontextprotocol.registry/official"] = new JsonObject
                {
                    ["status"] = e.Status, ["isLatest"] = true, ["publishedAt"] = e.UpdatedAt.ToString("O"), ["updatedAt"] = e.UpdatedAt.ToString("O"),
                },
            },
        })]);
        var metadata = new JsonObject { ["count"] = page.Count };
        if (next is not null) metadata["nextCursor"] = next;
        return Results.Text(new JsonObject { ["servers"] = servers, ["metadata"] = metadata }.ToJsonString(), "application/json");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
