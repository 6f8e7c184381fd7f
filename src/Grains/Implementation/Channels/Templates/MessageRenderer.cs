using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Encodings.Web;
using Fluid;

namespace Monitoring.Channels.Templates;

/// <summary>A message as it goes out: its subject, its plain body, and the body HTML-encoded for mail.</summary>
public sealed record RenderedMessage(string Subject, string Body, string HtmlBody);

/// <summary>
/// Renders subjects and bodies with Fluid (Liquid). The rule's template wins over the channel's, the channel's over
/// the default. Templates see flat, snake_case fields: id, status, kind, severity, message, rule_id, rule_name,
/// condition, server_id, server_name, episode, fired_at, at, escalation_level, labels.*, values.*.
/// </summary>
public sealed class MessageRenderer(ILogger<MessageRenderer> logger)
{
    public const int MaxTemplateLength = 8192;

    public const string DefaultSubject =
        "[{{ severity | upcase }}] {% if status == 'resolved' %}RESOLVED: {% endif %}{{ rule_name }} on {{ server_name }}";

    public const string DefaultBody =
        """
        {{ message }}

        Alert: {{ id }} ({{ status }})
        Rule: {{ rule_name }} ({{ condition }})
        Server: {{ server_name }} ({{ server_id }})
        Severity: {{ severity }}
        Fired at: {{ fired_at }}{% if escalation_level > 0 %}
        Escalation level: {{ escalation_level }}{% endif %}{% for value in values %}
        {{ value[0] }} = {{ value[1] }}{% endfor %}
        """;

    private const int CacheLimit = 1024;
    private static readonly FluidParser Parser = new();
    private static readonly TemplateOptions Options = new() { MaxSteps = 10_000, MaxRecursion = 10 };
    private readonly ConcurrentDictionary<string, IFluidTemplate> _cache = new(StringComparer.Ordinal);

    /// <summary>Null when the template parses; otherwise what is wrong and where.</summary>
    public static string? Check(string? template)
    {
        if (template is null) return null;
        if (template.Length > MaxTemplateLength) return $"is longer than {MaxTemplateLength} characters";
        return Parser.TryParse(template, out _, out var error) ? null : $"is not a valid Liquid template: {error}";
    }

    public RenderedMessage Render(Notification notification, MessageTemplates channelTemplates)
    {
        var subject = notification.Templates.Subject ?? channelTemplates.Subject ?? DefaultSubject;
        var body = notification.Templates.Body ?? channelTemplates.Body ?? DefaultBody;
        var context = Context(notification);
        return new RenderedMessage(
            RenderOne(subject, DefaultSubject, context, NullEncoder.Default).ReplaceLineEndings(" ").Trim(),
            RenderOne(body, DefaultBody, context, NullEncoder.Default).Trim(),
            RenderOne(body, DefaultBody, context, HtmlEncoder.Default).Trim());
    }

    private string RenderOne(string source, string fallback, TemplateContext context, TextEncoder encoder)
    {
        try
        {
            return Parse(source).Render(context, encoder);
        }
        catch (Exception e) when (source != fallback)
        {
            // A template that parsed can still fail at render time (a step limit); the default always renders.
            logger.LogWarning("A message template failed to render ({Error}); the default was used", e.Message);
            return Parse(fallback).Render(context, encoder);
        }
    }

    private IFluidTemplate Parse(string source)
    {
        if (_cache.TryGetValue(source, out var template)) return template;
        if (!Parser.TryParse(source, out template, out var error))
        {
            throw new InvalidOperationException($"template does not parse: {error}");
        }
        if (_cache.Count >= CacheLimit) _cache.Clear();
        _cache[source] = template;
        return template;
    }

    private static TemplateContext Context(Notification n)
    {
        var context = new TemplateContext(Options);
        context.SetValue("id", n.AlertId);
        context.SetValue("status", n.Status);
        context.SetValue("kind", n.Kind.ToString().ToLowerInvariant());
        context.SetValue("severity", n.Severity.ToString().ToLowerInvariant());
        context.SetValue("message", n.Message);
        context.SetValue("rule_id", n.RuleId);
        context.SetValue("rule_name", n.RuleName);
        context.SetValue("condition", n.Condition);
        context.SetValue("server_id", n.ServerId);
        context.SetValue("server_name", n.ServerName);
        context.SetValue("episode", n.Episode);
        context.SetValue("fired_at", n.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        context.SetValue("at", n.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        context.SetValue("escalation_level", n.EscalationLevel);
        context.SetValue("labels", new SortedDictionary<string, string>(n.Labels, StringComparer.Ordinal));
        context.SetValue("values", new SortedDictionary<string, string>(
            n.Values.ToDictionary(v => v.Key, v => v.Value.ToString("0.####", CultureInfo.InvariantCulture)), StringComparer.Ordinal));
        return context;
    }
}
