using System.Globalization;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Values;

namespace Monitoring.Channels.Templates;

/// <summary>
/// A message as it goes out: its subject, its plain body, and the body HTML-encoded for mail, rendered when first asked
/// for (only mail asks: a webhook or Slack message does not pay for a third render).
/// </summary>
public sealed class RenderedMessage(string subject, string body, Func<string> htmlBody)
{
    private string? _htmlBody;

    public string Subject { get; } = subject;

    public string Body { get; } = body;

    public string HtmlBody => _htmlBody ??= htmlBody();

    /// <summary>The message's acknowledge and resolve links, when it is one that can be acted on.</summary>
    public ActionUrls? Actions { get; init; }
}

/// <summary>
/// Renders subjects and bodies with Fluid (Liquid). The rule's template wins over the channel's, the channel's over
/// the default. Templates see flat, snake_case fields: id, status, kind, severity, message, rule_id, rule_name,
/// condition, server_id, server_name, server_health, episode, fired_at, at, escalation_level, labels.*, values.*.
/// </summary>
public sealed partial class MessageRenderer(
    ILogger<MessageRenderer> logger, Microsoft.Extensions.Options.IOptions<Settings.NotificationOptions> options, ActionLinkIssuer? links = null)
{
    /// <summary>An incident's subject, as Alertmanager's users know it: "[FIRING:500] High error rate".</summary>
    public const string DefaultGroupSubject =
        "[{% if status == 'resolved' %}RESOLVED{% else %}{{ status | upcase }}:{{ firing_count }}{% endif %}] {{ rule_name }}{% if group_text != '' %} ({{ group_text }}){% endif %}";

    /// <summary>An incident's body: the message, the counts, the first alerts with their values, how many more, and where to look.</summary>
    public const string DefaultGroupBody =
        """
        {{ message }}

        {{ firing_count }} firing{% if resolved_count > 0 %}, {{ resolved_count }} resolved{% endif %} · severity {{ severity }}{% if escalation_level > 0 %} · escalation level {{ escalation_level }}{% endif %}
        {% for alert in alerts limit: 10 %}
        - {{ alert.server_name }} ({{ alert.server_id }}) {{ alert.status }}{% for value in alert.values %} {{ value[0] }}={{ value[1] | round: 4 }}{% endfor %}{% endfor %}{% if more > 0 %}
        … and {{ more }} more{% endif %}

        Incident: {{ incident_url }}{% if ack_url != '' %}
        Acknowledge: {{ ack_url }}
        Resolve: {{ resolve_url }}{% endif %}
        """;

    public const int MaxTemplateLength = 8192;

    public const string DefaultSubject =
        "[{{ severity | upcase }}] {% if status == 'resolved' %}RESOLVED: {% endif %}{{ rule_name }} on {{ server_name }}";

    public const string DefaultBody =
        """
        {{ message }}

        Alert: {{ id }} ({{ status }})
        Rule: {{ rule_name }} ({{ condition }})
        Server: {{ server_name }} ({{ server_id }}){% if server_health %}, {{ server_health }}{% endif %}
        Severity: {{ severity }}
        Fired at: {{ fired_at }}{% if escalation_level > 0 %}
        Escalation level: {{ escalation_level }}{% endif %}{% for value in values %}
        {{ value[0] }} = {{ value[1] | round: 4 }}{% endfor %}{% if ack_url != '' %}

        Acknowledge: {{ ack_url }}
        Resolve: {{ resolve_url }}{% endif %}
        """;

    private const int CacheLimit = 1024;
    private const int MaxRange = 1000;
    private static readonly FluidParser Parser = new();
    private static readonly TemplateOptions Options = new() { MaxSteps = 10_000, MaxRecursion = 10 };
    private readonly Settings.BoundedCache<string, IFluidTemplate> _cache = new(CacheLimit, StringComparer.Ordinal);

    /// <summary>Null when the template parses; otherwise what is wrong and where.</summary>
    public static string? Check(string? template)
    {
        if (template is null) return null;
        if (template.Length > MaxTemplateLength) return $"is longer than {MaxTemplateLength} characters";
        if (!Parser.TryParse(template, out _, out var error)) return $"is not a valid Liquid template: {error}";
        // Fluid builds a range's whole array before a loop starts, so (1..values.memory_usage_bytes) could
        // allocate billions of items; only small literal ranges are allowed.
        foreach (var (range, from, to) in Ranges(template))
        {
            if (!int.TryParse(from.Trim(), out var low) || !int.TryParse(to.Trim(), out var high) || Math.Abs(low) > MaxRange || Math.Abs(high) > MaxRange)
            {
                return $"has the range '{(range.Length <= 60 ? range : range[..60] + "…")}'; ranges need whole-number bounds from -{MaxRange} to {MaxRange}";
            }
        }
        return null;
    }

    /// <summary>Every "(a..b)" with no parenthesis inside, in one pass (no pattern to backtrack over long templates).</summary>
    private static IEnumerable<(string Range, string From, string To)> Ranges(string template)
    {
        var open = -1;
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '(') open = i;
            else if (template[i] == ')' && open >= 0)
            {
                var inside = template[(open + 1)..i];
                var dots = inside.IndexOf("..", StringComparison.Ordinal);
                if (dots >= 0) yield return (template[open..(i + 1)], inside[..dots], inside[(dots + 2)..]);
                open = -1;
            }
        }
    }

    public async ValueTask<RenderedMessage> RenderAsync(Notification notification, MessageTemplates channelTemplates)
    {
        var grouped = notification.Group is not null;
        var defaultSubject = grouped ? DefaultGroupSubject : DefaultSubject;
        var defaultBody = grouped ? DefaultGroupBody : DefaultBody;
        var subject = notification.Templates.Subject ?? channelTemplates.Subject ?? defaultSubject;
        var body = notification.Templates.Body ?? channelTemplates.Body ?? defaultBody;
        var actions = links is null ? null : await links.ForAsync(notification);
        var model = Model(notification, actions);
        return new RenderedMessage(
            RenderOne(subject, defaultSubject, model, NullEncoder.Default).ReplaceLineEndings(" ").Trim(),
            RenderOne(body, defaultBody, model, NullEncoder.Default).Trim(),
            () => RenderOne(body, defaultBody, model, HtmlEncoder.Default).Trim())
        {
            Actions = actions,
        };
    }

    /// <summary>
    /// Each template renders in a context of its own (an <c>assign</c> in the subject never reaches the body, and each
    /// has its own step limit) over one model made once: a context reads the model's fields without copying them in.
    /// </summary>
    private string RenderOne(string source, string fallback, FluidValue model, TextEncoder encoder)
    {
        try
        {
            return Parse(source).Render(new TemplateContext(model, Options), encoder);
        }
        catch (Exception e) when (source != fallback)
        {
            // A template that parsed can still fail at render time (the step limit); the default always renders.
            logger.LogWarning("A message template failed to render ({Error}); the default was used", e.Message);
            return Parse(fallback).Render(new TemplateContext(model, Options), encoder);
        }
    }

    private IFluidTemplate Parse(string source)
    {
        if (_cache.TryGetValue(source, out var template)) return template;
        if (!Parser.TryParse(source, out template, out var error))
        {
            throw new InvalidOperationException($"template does not parse: {error}");
        }
        return _cache.GetOrAdd(source, template);
    }

    /// <summary>What a message's templates see, made once for its subject and body (a storm renders one message an alert).</summary>
    private FluidValue Model(Notification n, ActionUrls? actions)
    {
        var model = new ModelBuilder();
        model.Set("ack_url", actions?.Acknowledge ?? "");
        model.Set("resolve_url", actions?.Resolve ?? "");
        model.Set("id", n.AlertId);
        model.Set("status", n.Status);
        model.Set("kind", n.Kind.ToString().ToLowerInvariant());
        model.Set("severity", n.Severity.ToString().ToLowerInvariant());
        model.Set("message", n.Message);
        model.Set("rule_id", n.RuleId);
        model.Set("rule_name", n.RuleName);
        model.Set("condition", n.Condition);
        model.Set("server_id", n.ServerId);
        model.Set("server_name", n.ServerName);
        if (n.ServerHealth is { } health) model.Set("server_health", health);
        model.Set("episode", n.Episode);
        model.Set("fired_at", n.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        model.Set("at", n.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        model.Set("escalation_level", n.EscalationLevel);
        model.Set("labels", new SortedDictionary<string, string>(n.Labels, StringComparer.Ordinal));
        model.Set("values", new SortedDictionary<string, double>(n.Values, StringComparer.Ordinal));
        // An incident's message also sees its group: alerts (each with the fields above), group and common labels, counts.
        var group = n.Group;
        model.Set("incident_id", group?.IncidentId ?? "");
        model.Set("incident_url", group is null ? "" : $"{options.Value.ExternalUrl.TrimEnd('/')}/api/incidents/{group.IncidentId}");
        model.Set("group_labels", new SortedDictionary<string, string>(group?.GroupLabels ?? [], StringComparer.Ordinal));
        model.Set("group_text", group is null ? "" : string.Join(", ", group.GroupLabels.Where(l => l.Key != "alertname").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
        model.Set("common_labels", new SortedDictionary<string, string>(group?.CommonLabels ?? n.Labels, StringComparer.Ordinal));
        model.Set("firing_count", group?.Firing ?? (n.Kind == NotificationKind.Resolved ? 0 : 1));
        model.Set("resolved_count", group?.Resolved ?? (n.Kind == NotificationKind.Resolved ? 1 : 0));
        model.Set("truncated_alerts", group?.TruncatedAlerts ?? 0);
        var alerts = group?.Alerts ?? [];
        model.Set("more", group is null ? 0 : group.Firing + group.Resolved - Math.Min(10, alerts.Length));
        model.Set("alerts", alerts.Select(a => new Dictionary<string, object>
        {
            ["id"] = a.AlertId,
            ["status"] = a.Status,
            ["rule_id"] = a.RuleId,
            ["rule_name"] = a.RuleName,
            ["server_id"] = a.ServerId,
            ["server_name"] = a.ServerName,
            ["severity"] = a.Severity.ToString().ToLowerInvariant(),
            ["message"] = a.Message,
            ["starts_at"] = a.StartsAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            ["labels"] = new SortedDictionary<string, string>(a.Labels, StringComparer.Ordinal),
            ["values"] = new SortedDictionary<string, double>(a.Values, StringComparer.Ordinal),
        }).ToList());
        return new DictionaryValue(model);
    }

    /// <summary>
    /// A message's fields, read by name whatever its case, as a context's own variables are (Fluid's own dictionary
    /// wrapper does not look up through the dictionary's comparer).
    /// </summary>
    private sealed class ModelBuilder : IFluidIndexable
    {
        private readonly Dictionary<string, FluidValue> _values = new(40, Options.ModelNamesComparer);

        public void Set(string name, object value) => _values[name] = FluidValue.Create(value, Options);

        public int Count => _values.Count;

        public IEnumerable<string> Keys => _values.Keys;

        public bool TryGetValue(string name, out FluidValue value) => _values.TryGetValue(name, out value!);
    }
}
