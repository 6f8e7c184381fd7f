using Monitoring.Alerts;
using Monitoring.Observability;
using Monitoring.Rules;
using Monitoring.Rules.Conditions;
using Monitoring.Settings;

namespace Monitoring.Servers;

/// <summary>
/// The rules that select one server, and the alerts they open on it. An evaluation compiles each rule against the
/// server's metrics and tells the alerts whose condition holds or that are open, storing the open set before it tells
/// an alert that may open (store before hand-off). It answers how many holding conditions did not reach their alert,
/// so the push that caused them is refused and sent again.
/// </summary>
internal sealed class ServerAlerts(
    string serverId,
    Func<McpServerState> state,
    Func<Task> writeState,
    IGrainFactory grains,
    RuleCache ruleCache,
    Silences.SilenceCache silences,
    Routing.RoutingCache routing,
    MonitoringOptions options,
    ILogger logger)
{
    private RuleSet _rules = RuleSet.Empty;
    private McpServerState S => state();

    /// <summary>The version of the rules this server evaluates with.</summary>
    public long RulesVersion => _rules.Version;

    /// <summary>The open set changed and its write failed: written again at the next evaluation.</summary>
    private bool _openUnsaved;

    /// <summary>
    /// What each open alert was last told. An open alert whose condition, rule, server summary, silences and routing
    /// are as they were is told again only once a reminder period (its latest values with it), not on every
    /// evaluation: a fleet's firing alerts cost a call each a minute instead of four, and their values stop churning
    /// the heap. An alert that went to sleep (nothing due within a reminder period, nothing in flight) is told again
    /// only at the moment it asked for (<see cref="Told.WakeAt"/>). The alert's own deadlines run on its timer while
    /// it is awake; a change of any of these reaches it at the next evaluation, asleep or not.
    /// </summary>
    private readonly Dictionary<string, Told> _told = new(StringComparer.Ordinal);

    private sealed record Told(ConditionResult Condition, AlertRule Rule, ServerSummary Server, News? News, DateTimeOffset At, DateTimeOffset? WakeAt)
    {
        /// <summary>Nothing this alert needs to hear has changed, and it is not yet time to tell it again.</summary>
        public bool StillHolds(ConditionResult condition, AlertRule rule, ServerSummary server, News? news, DateTimeOffset now, TimeSpan period) =>
            Condition == condition && ReferenceEquals(Rule, rule) && news is { } current && News == current && SameSummary(Server, server)
            && (WakeAt is { } wake ? now < wake : now - At < period);
    }

    /// <summary>The versions of this silo's copies of the silences and the routing: a change to either is news for every open alert.</summary>
    private readonly record struct News(long Silences, long Routing);

    /// <summary>
    /// Evaluates every rule that selects the server and tells the alerts whose condition holds or that are open.
    /// <paramref name="restoredThrough"/> is set while the window holds only data restored from storage (or a refused
    /// push was taken back): its newest moment. Answers how many holding conditions did not reach their alert (its silo
    /// died mid-call, twice): the rules stay in the open set so the next evaluation tries again.
    /// </summary>
    public async Task<int> EvaluateAsync(McpServer server, Dictionary<string, double> metrics, HealthVerdict verdict, DateTimeOffset? restoredThrough, DateTimeOffset now)
    {
        var summary = new ServerSummary(server.Id, server.Name, server.Endpoint, server.Labels)
        {
            Health = verdict.State.ToString().ToLowerInvariant(),
            HealthReasons = verdict.Reasons,
        };
        var open = S.OpenAlertRules;
        var selected = new HashSet<string>(StringComparer.Ordinal);
        var telling = new List<(AlertRule Rule, ConditionResult Condition, Observation Observation)>();
        var news = await NewsAsync();

        foreach (var rule in _rules.Rules)
        {
            if (!rule.Enabled || !rule.Selects(server.Labels))
            {
                continue;
            }
            selected.Add(rule.Id);
            var condition = !server.Enabled ? ConditionResult.Clear : ConditionParser.Compile(rule.Condition).Evaluate(metrics) switch
            {
                true => ConditionResult.Holds,
                false => ConditionResult.Clear,
                null => ConditionResult.NoData,
            };
            // No data is not recovery, and neither is data from before the breach: a window restored from an older
            // snapshot cannot resolve an open alert until data arrives again.
            DateTimeOffset? restoredClearThrough = null;
            if (condition == ConditionResult.Clear && restoredThrough is not null && server.Enabled && open.Contains(rule.Id))
            {
                condition = ConditionResult.NoData;
                restoredClearThrough = restoredThrough; // the alert knows when it began: it decides
            }
            MonitoringMetrics.RuleEvaluations.WithLabels(condition switch { ConditionResult.Holds => "true", ConditionResult.Clear => "false", _ => "no_data" }).Inc();
            if (open.Contains(rule.Id) && _told.TryGetValue(rule.Id, out var told) && told.StillHolds(condition, rule, summary, news, now, options.ReminderPeriod))
            {
                continue;
            }
            if (condition == ConditionResult.Holds || open.Contains(rule.Id))
            {
                telling.Add((rule, condition, new Observation(rule, summary, condition, metrics) { RestoredClearThrough = restoredClearThrough }));
            }
        }

        // Store before hand-off: an alert a holding condition may open is counted open, and stored so, before it is
        // told. So however a silo's death falls, a firing alert is one its server looks after (and tells when the
        // condition clears); an alert it counts open that is not is told once and drops out.
        var opening = false;
        foreach (var (rule, condition, _) in telling) opening |= condition == ConditionResult.Holds && open.Add(rule.Id);
        if (opening || _openUnsaved && telling.Count > 0)
        {
            await WriteOpenSetAsync();
        }
        var observed = telling.Select(t => (t.Rule, t.Condition, Answer: ObserveAsync(t.Rule.Id, t.Observation))).ToList();

        // Open alerts whose rule was deleted, disabled or no longer selects this server are closed, not left firing.
        var closing = open.Where(ruleId => !selected.Contains(ruleId)).Select(ruleId => (RuleId: ruleId, Closed: CloseAsync(ruleId))).ToList();

        await Task.WhenAll(observed.Select(o => (Task)o.Answer).Concat(closing.Select(c => c.Closed)));

        // An alert that could not be reached is counted as open, so the next evaluation tries it again: when in doubt,
        // the server's record errs towards an alert it must still look after, never towards one it forgot.
        var changed = false;
        var unreached = 0;
        foreach (var (ruleId, closed) in closing)
        {
            changed |= closed.Result && open.Remove(ruleId);
            _told.Remove(ruleId);
        }
        foreach (var (rule, condition, answer) in observed)
        {
            if (answer.Result is not { } reached)
            {
                changed |= open.Add(rule.Id);
                _told.Remove(rule.Id);
                if (condition == ConditionResult.Holds) unreached++;
                continue;
            }
            if (reached.Phase is AlertPhase.Pending or AlertPhase.Firing)
            {
                changed |= open.Add(rule.Id);
                _told[rule.Id] = new Told(condition, rule, summary, news, now, reached.SleepsUntil);
            }
            else
            {
                changed |= open.Remove(rule.Id);
                _told.Remove(rule.Id);
            }
        }
        if (changed || _openUnsaved)
        {
            await WriteOpenSetAsync();
        }
        return unreached;
    }

    /// <summary>An alert changed by a person: told again at the next evaluation, whatever it was told before.</summary>
    public void Changed(string ruleId) => _told.Remove(ruleId);

    /// <summary>The server is removed: every open alert closes with the reason.</summary>
    public Task CloseAllAsync(string reason) => Task.WhenAll(S.OpenAlertRules.Select(ruleId => Alert(ruleId).CloseAsync(reason)));

    /// <summary>
    /// Called only by an alert of an older silo during a rolling upgrade: alerts of this version sleep only in their
    /// answer to an observation, and a server stores an alert as open before telling it of a breach.
    /// </summary>
    public async Task SleepsAsync(string ruleId, DateTimeOffset until)
    {
        if (_told.TryGetValue(ruleId, out var told))
        {
            _told[ruleId] = told with { WakeAt = until };
        }
        // Only an open alert sleeps. One this activation did not count open was opened by an activation that a silo's
        // death left finishing beside this one: counted now, it hears of the server's recovery, its next notification
        // and its deadlines, from the next evaluation on.
        if (S.Server is not null && S.OpenAlertRules.Add(ruleId))
        {
            logger.LogInformation("Server {ServerId}: alert of rule {RuleId} is open; this activation did not know it", serverId, ruleId);
            await WriteOpenSetAsync();
        }
    }

    /// <summary>
    /// Stores the open set. A write that fails leaves it in memory ahead of storage: the next evaluation writes it again
    /// even when nothing changed since, or a silo's death would take the alert it added with it.
    /// </summary>
    private async Task WriteOpenSetAsync()
    {
        _openUnsaved = true;
        await writeState();
        _openUnsaved = false;
    }

    /// <summary>The same server in the same health; the reasons carry figures (an error share, a latency) and travel with the values.</summary>
    private static bool SameSummary(ServerSummary a, ServerSummary b) =>
        a.Id == b.Id && a.Name == b.Name && a.Endpoint == b.Endpoint && ReferenceEquals(a.Labels, b.Labels) && a.Health == b.Health;

    /// <summary>
    /// The versions of this silo's copies of the silences and the routing: a new or changed silence, route or
    /// inhibition rule is news for every open alert. Unknown (either could not be read) counts as news.
    /// </summary>
    private async Task<News?> NewsAsync()
    {
        try
        {
            return new News((await silences.GetAsync()).Version, (await routing.GetAsync()).Version);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Server {ServerId} could not read the silences or the routing; its open alerts are told again", serverId);
            return null;
        }
    }

    /// <summary>Takes this silo's copy of the rules; a newer version applies from this evaluation on.</summary>
    public async Task RefreshRulesAsync()
    {
        try
        {
            var rules = await ruleCache.CurrentAsync();
            if (rules.Version > _rules.Version) _rules = rules;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Server {ServerId} could not read the rule catalog; evaluating with rules version {Version}", serverId, _rules.Version);
        }
    }

    /// <summary>One alert failing (its silo dying mid-call) must not fail the push, the probe or the other rules.</summary>
    private async Task<Observed?> ObserveAsync(string ruleId, Observation observation)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Alert(ruleId).ObserveAsync(observation);
            }
            catch (Exception e) when (attempt == 1)
            {
                // Once more at once: a call to a silo that has just died is placed elsewhere once the cluster knows.
                logger.LogDebug(e, "Alert {AlertId} did not take an observation; trying once more", AlertIds.For(ruleId, serverId));
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Alert {AlertId} could not take an observation; the next evaluation retries", AlertIds.For(ruleId, serverId));
                return null;
            }
        }
    }

    private async Task<bool> CloseAsync(string ruleId)
    {
        try
        {
            await Alert(ruleId).CloseAsync("rule no longer applies to this server");
            return true;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId} could not be closed; the next evaluation retries", AlertIds.For(ruleId, serverId));
            return false;
        }
    }

    private IAlertGrain Alert(string ruleId) => grains.GetGrain<IAlertGrain>(AlertIds.For(ruleId, serverId));
}
