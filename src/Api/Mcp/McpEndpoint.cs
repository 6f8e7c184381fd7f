using System.Reflection;
using System.Security.Claims;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Monitoring.Api.Security;
using Monitoring.Security;
using Role = Monitoring.Security.Role;

namespace Monitoring.Api.Mcp;

/// <summary>Limits of the agents' endpoint, bound from "Mcp".</summary>
public sealed class McpOptions
{
    public const string Section = "Mcp";

    /// <summary>The longest silence an agent may create; a longer one is refused with a tool error that says so.</summary>
    public TimeSpan MaxSilence { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>
/// The agents' endpoint: MCP over Streamable HTTP at <c>/mcp</c>, stateless, with the official SDK. Authentication is
/// the API's own (the same keys and roles, checked by <see cref="AuthMiddleware"/>); here the tool list is filtered to
/// what the caller's role may use, and a call to a tool above it is refused as a tool error and changes nothing.
/// </summary>
public static class McpEndpoint
{
    public const string Path = "/mcp";

    /// <summary>What each tool needs: read tools a reader, the tools that act an operator (as their REST routes do).</summary>
    public static readonly IReadOnlyDictionary<string, Role> ToolRoles =
        ToolsOf(typeof(ReadTools), Role.Reader).Concat(ToolsOf(typeof(ActionTools), Role.Operator)).ToDictionary(t => t.Name, t => t.Role, StringComparer.Ordinal);

    public static IServiceCollection AddMonitoringMcp(this IServiceCollection services)
    {
        services.AddOptions<McpOptions>().BindConfiguration(McpOptions.Section)
            .Validate(o => o.MaxSilence > TimeSpan.Zero && o.MaxSilence <= TimeSpan.FromDays(365), "Mcp:MaxSilence must be more than 0 and at most 365 days")
            .ValidateOnStart();
        services.AddHttpContextAccessor();
        services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "mcp-alerting", Title = "MCP alerting", Version = typeof(McpEndpoint).Assembly.GetName().Version?.ToString(3) ?? "1.0.0" };
                options.ServerInstructions =
                    "Alerting for a fleet of MCP servers. Start with fleet_status; drill in with the ids it returns. " +
                    "Ids: servers by their id, alerts as rule:server, incidents as inc-…, silences by id.";
            })
            .WithHttpTransport(options => options.Stateless = true)
            .WithTools<ReadTools>()
            .WithTools<ActionTools>()
            .WithRequestFilters(filters =>
            {
                filters.AddListToolsFilter(next => async (context, cancellationToken) =>
                {
                    var result = await next(context, cancellationToken);
                    var role = RoleOf(context.User, context.Services);
                    result.Tools = [.. result.Tools.Where(tool => ToolRoles.GetValueOrDefault(tool.Name, Role.Admin) <= role)];
                    return result;
                });
                filters.AddCallToolFilter(next => async (context, cancellationToken) =>
                {
                    var name = context.Params?.Name ?? "";
                    var needed = ToolRoles.GetValueOrDefault(name, Role.Admin);
                    var role = RoleOf(context.User, context.Services);
                    if (ToolRoles.ContainsKey(name) && role < needed)
                    {
                        return Refusal($"The key '{context.User?.Identity?.Name ?? "anonymous"}' has the role {role.ToString().ToLowerInvariant()}; " +
                            $"{name} needs {needed.ToString().ToLowerInvariant()}. Nothing was changed.");
                    }
                    if (context.MatchedPrimitive is McpServerTool tool && ToolArguments.Problem(tool.ProtocolTool.InputSchema, context.Params?.Arguments) is { } problem)
                    {
                        return Refusal(problem + " Nothing was changed.");
                    }
                    return await next(context, cancellationToken);
                });
            });
        return services;
    }

    public static IEndpointRouteBuilder MapMonitoringMcp(this IEndpointRouteBuilder app)
    {
        app.MapMcp(Path).WithTags("MCP");
        return app;
    }

    /// <summary>The caller's role: the key's, or an admin's in the open embedded mode (as the console is).</summary>
    public static Role RoleOf(ClaimsPrincipal? user, IServiceProvider? services)
    {
        if (services?.GetService<AuthMode>() is { Required: false }) return Role.Admin;
        return user?.Identity?.IsAuthenticated == true ? user.RoleOf() : Role.Sender;
    }

    /// <summary>Who acts, for the audit log and the alert's "acknowledged by": the key's person or name, via MCP.</summary>
    public static string ActorOf(ClaimsPrincipal? user) =>
        $"{(user?.Identity?.IsAuthenticated == true ? ConsoleUser.ActorOf(user) : "agent")} via MCP";

    private static CallToolResult Refusal(string message) => new() { IsError = true, Content = [new TextContentBlock { Text = message }] };

    private static IEnumerable<(string Name, Role Role)> ToolsOf(Type type, Role role) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<McpServerToolAttribute>()?.Name)
            .OfType<string>()
            .Select(name => (name, role));
}
