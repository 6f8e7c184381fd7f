using System.ComponentModel;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using Monitoring.Api.Audit;
using Monitoring.Api.Web;
using Monitoring.Servers;
using Monitoring.Silences;

namespace Monitoring.Api.Mcp;

/// <summary>
/// What an agent may do with an operator's key, through the same grains as the API and the console. Every change is
/// audited with the key's name "via MCP"; a refused call changes nothing.
/// </summary>
[McpServerToolType]
public sealed class ActionTools(IGrainFactory grains, Acting acting, IAuditLog audit, IHttpContextAccessor http, IOptions<McpOptions> options, TimeProvider time)
{
    public const int MaxComment = 2000;

    private string Actor => McpEndpoint.ActorOf(http.HttpContext?.User);

    [McpServerTool(Name = "check_server_now", Title = "Check a server now", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = true)]
    [Description("Probes, scrapes and reads the health of one server now, and answers its health after.")]
    public async Task<ServerDetails> CheckServerNowAsync([Description("The server's id.")] string server_id)
    {
        var status = await grains.GetGrain<IMcpServerGrain>(ReadTools.Id(server_id, "server_id")).CheckNowAsync()
            ?? throw new McpException($"There is no server '{server_id}'. find_servers lists them.");
        return ServerDetails.Of(status, []);
    }

    [McpServerTool(Name = "acknowledge", Title = "Acknowledge", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Acknowledges an incident (inc-…) or an alert (rule:server): escalation stops, and the page is yours.")]
    public Task<ActionDone> AcknowledgeAsync([Description("An incident's or an alert's id.")] string target_id) => ActAsync(target_id, TargetAction.Acknowledge);

    [McpServerTool(Name = "resolve", Title = "Resolve", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("Resolves an incident (inc-…) or an alert (rule:server) by hand; it fires again if its condition still holds.")]
    public Task<ActionDone> ResolveAsync([Description("An incident's or an alert's id.")] string target_id) => ActAsync(target_id, TargetAction.Resolve);

    [McpServerTool(Name = "create_silence", Title = "Create a silence", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false)]
    [Description("Mutes matching alerts for a while (Alertmanager's silences). Needs a comment saying why; at most the configured maximum (24h by default).")]
    public async Task<SilenceDone> CreateSilenceAsync(
        [Description("Label matchers, all of which must hold, e.g. [\"server_id=payments-1\", \"severity=~warning|info\"].")] string[] matchers,
        [Description("How long, e.g. 30m or 2h.")] string duration,
        [Description("Why: shown to everyone who sees the silence.")] string comment)
    {
        var parsed = new List<Matcher>();
        if (matchers is not { Length: > 0 and <= Contracts.SilenceRequest.MaxMatchers })
        {
            throw new McpException($"'matchers' needs 1 to {Contracts.SilenceRequest.MaxMatchers} label matchers, e.g. [\"server_id=payments-1\"]. Nothing was changed.");
        }
        for (var i = 0; i < matchers.Length; i++)
        {
            if (!MatcherText.TryParse(matchers[i], out var matcher, out var error)) throw new McpException($"matchers[{i}]: {error}. Nothing was changed.");
            parsed.Add(matcher);
        }
        if (parsed.All(m => m.Matches(new Dictionary<string, string>())))
        {
            throw new McpException("'matchers' would match every alert; at least one matcher must need a non-empty value. Nothing was changed.");
        }
        var max = options.Value.MaxSilence;
        if (!Common.Durations.TryParse(duration, out var length, out var durationError)) throw new McpException($"duration: {durationError}. Nothing was changed.");
        if (length <= TimeSpan.Zero) throw new McpException("duration: must be more than 0, e.g. 30m or 2h. Nothing was changed.");
        if (length > max) throw new McpException($"duration: {Show.Span(length)} is longer than {Show.Span(max)}, the most an agent may silence (Mcp:MaxSilence). Nothing was changed.");
        if (string.IsNullOrWhiteSpace(comment) || comment.Length > MaxComment) throw new McpException($"comment: say why, in 1 to {MaxComment} characters. Nothing was changed.");
        var now = time.GetUtcNow();
        var silence = new Silence(Guid.NewGuid().ToString("N"), [.. parsed], now, now + length, Actor, comment.Trim(), false, now);
        var result = await Catalog.CreateAsync(silence);
        if (!result.Succeeded) throw new McpException($"The silence was refused: {Refusal(result)}. Nothing was changed.");
        await audit.AppendAsync(now, Actor, "create silence", "silence", silence.Id, null, silence);
        return Done(silence, now);
    }

    [McpServerTool(Name = "expire_silence", Title = "Expire a silence", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("Ends a silence now; the alerts it muted page again if they still fire.")]
    public async Task<SilenceDone> ExpireSilenceAsync([Description("The silence's id.")] string silence_id)
    {
        var all = (await Catalog.GetIfChangedAsync(-1))?.Silences ?? [];
        if (all.FirstOrDefault(s => s.Id == silence_id) is not { } before) throw new McpException($"There is no silence '{ReadTools.Clip(silence_id)}'.");
        var result = await Catalog.ExpireAsync(silence_id);
        if (!result.Succeeded) throw new McpException($"The silence was not expired: {Refusal(result)}.");
        var now = time.GetUtcNow();
        var after = (await Catalog.GetIfChangedAsync(-1))?.Silences.FirstOrDefault(s => s.Id == silence_id) ?? before;
        await audit.AppendAsync(now, Actor, "expire silence", "silence", silence_id, before, after);
        return Done(after, now);
    }

    private ISilenceCatalogGrain Catalog => grains.GetGrain<ISilenceCatalogGrain>(ISilenceCatalogGrain.Key);

    private async Task<ActionDone> ActAsync(string targetId, TargetAction action)
    {
        if (!Acting.IsTarget(targetId)) throw new McpException($"'{ReadTools.Clip(targetId)}' is neither an incident id (inc-…) nor an alert id (rule:server).");
        var outcome = await acting.ActAsync(targetId, action, Actor);
        if (!outcome.Succeeded) throw new McpException(outcome.Message + " Nothing was changed.");
        return new ActionDone(targetId, outcome.Message);
    }

    private static SilenceDone Done(Silence s, DateTimeOffset now) =>
        new(s.Id, string.Join(", ", s.Matchers.Select(m => m.ToString())), s.StateAt(now).ToString().ToLowerInvariant(), Show.Time(s.EndsAt), s.Comment);

    private static string Refusal(Common.WriteResult result) =>
        result.Errors is { Length: > 0 } errors ? string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")) : result.Outcome.ToString().ToLowerInvariant();
}
