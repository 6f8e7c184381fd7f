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

    private FluidValue Model(Notification n, ActionUrls? actions) =>
        new DictionaryValue(new MessageModel(n, actions, options.Value.ExternalUrl.TrimEnd('/')));

    /// <summary>
    /// What a message's templates see, one model for its subject and body, read by name whatever its case (as a
    /// context's own variables are; Fluid's own dictionary wrapper does not look up through the dictionary's comparer).
    /// A field is made when a template first reads it: a storm renders one message an alert, and the default templates
    /// read a third of the fields (making all of them cost about 3 KB of the 74 KB a storm allocates an alert).
    /// </summary>
    private sealed class MessageModel(Notification notification, ActionUrls? actions, string externalUrl) : IFluidIndexable
    {
        private Notification N { get; } = notification;
        private ActionUrls? Actions { get; } = actions;
        private string Url { get; } = externalUrl;

        private static readonly Dictionary<string, Func<MessageModel, object?>> Fields = new(Options.ModelNamesComparer)
        {
            ["ack_url"] = m => m.Actions?.Acknowledge ?? "",
            ["resolve_url"] = m => m.Actions?.Resolve ?? "",
            ["id"] = m => m.N.AlertId,
            ["status"] = m => m.N.Status,
            ["kind"] = m => m.N.Kind.ToString().ToLowerInvariant(),
            ["severity"] = m => m.N.Severity.ToString().ToLowerInvariant(),
            ["message"] = m => m.N.Message,
            ["rule_id"] = m => m.N.RuleId,
            ["rule_name"] = m => m.N.RuleName,
            ["condition"] = m => m.N.Condition,
            ["server_id"] = m => m.N.ServerId,
            ["server_name"] = m => m.N.ServerName,
            ["server_health"] = m => m.N.ServerHealth,
            ["episode"] = m => m.N.Episode,
            ["fired_at"] = m => Time(m.N.CreatedAt),
            ["at"] = m => Time(m.N.At),
            ["escalation_level"] = m => m.N.EscalationLevel,
            ["labels"] = m => Sorted(m.N.Labels),
            ["values"] = m => Sorted(m.N.Values),
            // An incident's message also sees its group: alerts (each with the fields above), group and common labels, counts.
            ["incident_id"] = m => m.N.Group?.IncidentId ?? "",
            ["incident_url"] = m => m.N.Group is { } g ? $"{m.Url}/api/incidents/{g.IncidentId}" : "",
            ["group_labels"] = m => Sorted(m.N.Group?.GroupLabels ?? []),
            ["group_text"] = m => m.N.Group is { } g
                ? string.Join(", ", g.GroupLabels.Where(l => l.Key != "alertname").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))
                : "",
            ["common_labels"] = m => Sorted(m.N.Group?.CommonLabels ?? m.N.Labels),
            ["firing_count"] = m => m.N.Group?.Firing ?? (m.N.Kind == NotificationKind.Resolved ? 0 : 1),
            ["resolved_count"] = m => m.N.Group?.Resolved ?? (m.N.Kind == NotificationKind.Resolved ? 1 : 0),
            ["truncated_alerts"] = m => m.N.Group?.TruncatedAlerts ?? 0,
            ["more"] = m => m.N.Group is { } g ? g.Firing + g.Resolved - Math.Min(10, g.Alerts.Length) : 0,
            ["alerts"] = m => (m.N.Group?.Alerts ?? []).Select(a => new Dictionary<string, object>
            {
                ["id"] = a.AlertId,
                ["status"] = a.Status,
                ["rule_id"] = a.RuleId,
                ["rule_name"] = a.RuleName,
                ["server_id"] = a.ServerId,
                ["server_name"] = a.ServerName,
                ["severity"] = a.Severity.ToString().ToLowerInvariant(),
                ["message"] = a.Message,
                ["starts_at"] = Time(a.StartsAt),
                ["labels"] = Sorted(a.Labels),
                ["values"] = Sorted(a.Values),
            }).ToList(),
        };

        private readonly Dictionary<string, FluidValue> _made = new(8, Options.ModelNamesComparer);

        public int Count => Keys.Count();

        public IEnumerable<string> Keys => Fields.Keys.Where(name => name != "server_health" || N.ServerHealth is not null);

        public bool TryGetValue(string name, out FluidValue value)
        {
            if (_made.TryGetValue(name, out value!)) return true;
            if (!Fields.TryGetValue(name, out var make) || make(this) is not { } made) return false;
            value = FluidValue.Create(made, Options);
            _made[name] = value;
            return true;
        }

        private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

        private static SortedDictionary<string, T> Sorted<T>(IDictionary<string, T> values) => new(values, StringComparer.Ordinal);
    }
}
