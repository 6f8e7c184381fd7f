using Microsoft.Extensions.DependencyInjection;
using Monitoring.Alerts;
using Orleans.Core.Internal;
using Monitoring.Rules;
using Monitoring.Rules.Conditions;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Alerts;

/// <summary>Every lifecycle transition, driven through the server grain as telemetry would, with fake time.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AlertLifecycleTests(ClusterFixture fixture)
{
    private Scenario NewScenario() => new(fixture);

    private void Advance(TimeSpan by) => fixture.Time.Advance(by);

    [Fact]
    public async Task Fires_at_once_with_for_zero_and_auto_resolves_when_the_condition_clears()
    {
        var s = await Relabel(await NewScenario().SetUpAsync());

        await s.PushAsync(failures: 1, successes: 0);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        var fired = (await s.WaitForHooksAsync(1)).Single();
        Assert.Equal("firing", fired.Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal(s.AlertId, fired.Body.GetProperty("alert").GetProperty("id").GetString());

        await s.PushAsync(failures: 0, successes: 100);
        Assert.Equal(AlertStatus.Resolved, await s.StatusAsync());
        var hooks = await s.WaitForHooksAsync(2);
        Assert.Equal("resolved", hooks[1].Body.GetProperty("alert").GetProperty("status").GetString());

        var view = (await s.Alert.GetAsync())!;
        Assert.Equal(["inactive->pending", "pending->firing", "firing->resolved"],
            view.Transitions.Select(t => $"{t.From}->{t.To}".ToLowerInvariant()));
    }

    [Fact]
    public async Task Waits_out_for_before_firing_and_fires_on_its_own_timer()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { For = TimeSpan.FromMinutes(2) }));

        await s.PushAsync(failures: 5, successes: 0);
        Assert.Equal(AlertStatus.Pending, await s.StatusAsync());

        Advance(TimeSpan.FromSeconds(60));
        await s.Server.EvaluateAsync();
        Assert.Equal(AlertStatus.Pending, await s.StatusAsync());
        Assert.Empty(s.Hooks);

        Advance(TimeSpan.FromSeconds(61));
        await s.WaitForStatusAsync(AlertStatus.Firing);
        await s.WaitForHooksAsync(1);
    }

    [Fact]
    public async Task A_condition_that_clears_before_for_never_fires()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { For = TimeSpan.FromMinutes(5) }));

        await s.PushAsync(failures: 1, successes: 0);
        Assert.Equal(AlertStatus.Pending, await s.StatusAsync());
        await s.PushAsync(failures: 0, successes: 100);
        Assert.Equal(AlertStatus.Inactive, await s.StatusAsync());

        Advance(TimeSpan.FromMinutes(6));
        await s.Server.EvaluateAsync();
        Assert.Equal(AlertStatus.Inactive, await s.StatusAsync());
        await Eventually.StaysFalseAsync(() => s.Hooks.Count > 0, "no webhook for an alert that never fired");
    }

    [Fact]
    public async Task A_new_episode_is_announced_even_inside_the_cooldown_and_repeats_wait_for_it()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { Cooldown = TimeSpan.FromMinutes(30) }));

        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        await s.PushAsync(failures: 0, successes: 100);
        await s.WaitForHooksAsync(2); // resolved

        // The receiver last heard "resolved": a new episode is announced at once, whatever the cooldown.
        Advance(TimeSpan.FromMinutes(5));
        await s.PushAsync(failures: 50, successes: 0);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        var hooks = await s.WaitForHooksAsync(3);
        Assert.Equal("firing", hooks[2].Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal(2, hooks[2].Body.GetProperty("context").GetProperty("episode").GetInt32());

        // While it keeps firing, the cooldown spaces the repeats.
        await KeepBreachingAsync(s, TimeSpan.FromMinutes(29));
        await Eventually.StaysFalseAsync(() => s.Hooks.Count > 3, "no repeat inside the cooldown");
        await KeepBreachingAsync(s, TimeSpan.FromMinutes(1));
        hooks = await s.WaitForHooksAsync(4);
        Assert.Equal("repeat", hooks[3].Body.GetProperty("context").GetProperty("notification").GetString());
    }

    [Fact]
    public async Task Escalates_when_nobody_acknowledges()
    {
        var s = NewScenario();
        s = await Relabel(await s.SetUpAsync(r => r with { EscalateAfter = TimeSpan.FromMinutes(10), EscalationChannels = [s.EscalationChannelId], Cooldown = TimeSpan.FromHours(4) }));

        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        await KeepBreachingAsync(s, TimeSpan.FromMinutes(9));
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        Assert.Empty(s.EscalationHooks);

        await KeepBreachingAsync(s, TimeSpan.FromMinutes(1));
        await s.WaitForStatusAsync(AlertStatus.Escalated);
        var escalation = (await fixture.Webhooks.WaitForAsync(s.EscalationPath, 1)).Single();
        Assert.Equal("escalated", escalation.Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Single(s.Hooks);

        // The resolution reaches every channel that heard of the alert, the escalation channel included.
        await s.PushAsync(failures: 0, successes: 100);
        await s.WaitForHooksAsync(2);
        await fixture.Webhooks.WaitForAsync(s.EscalationPath, 2);
    }

    [Fact]
    public async Task A_firing_alert_holds_no_reminder_its_server_brings_it_back_and_old_reminders_are_put_right()
    {
        var s = NewScenario();
        s = await Relabel(await s.SetUpAsync(r => r with { EscalateAfter = TimeSpan.FromMinutes(10), EscalationChannels = [s.EscalationChannelId], Cooldown = TimeSpan.FromHours(4) }));
        var reminders = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var alert = s.Alert.GetGrainId();
        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        Assert.Empty((await reminders.ReadRows(alert)).Reminders);

        // Its activation lost, as on a dead silo: the server's evaluations alone bring it back, with its escalation due.
        await s.Alert.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        for (var step = 0; step < 10; step++)
        {
            Advance(TimeSpan.FromMinutes(1));
            await s.Server.EvaluateAsync();
        }
        var escalation = (await fixture.Webhooks.WaitForAsync(s.EscalationPath, 1)).Single();
        Assert.Equal("escalated", escalation.Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Empty((await reminders.ReadRows(alert)).Reminders);

        // A reminder an earlier version kept for every firing alert is removed at its tick.
        var at = fixture.Time.GetUtcNow().UtcDateTime;
        await reminders.UpsertRow(new ReminderEntry { GrainId = alert, ReminderName = "lifecycle", StartAt = at, Period = TimeSpan.FromMinutes(1) });
        await s.Alert.AsReference<IRemindable>().ReceiveReminder("lifecycle", new TickStatus(at, TimeSpan.FromMinutes(1), at));
        // The alert removes it behind its turn (the reminder table is never waited on).
        await Eventually.TrueAsync(async () => (await reminders.ReadRows(alert)).Reminders.Count == 0, "the old reminder removed", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_open_alert_hears_a_change_at_the_next_evaluation_and_the_same_news_once_a_reminder_period()
    {
        var s = await Relabel(await NewScenario().SetUpAsync());
        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        Assert.Equal(1, (await s.Alert.GetAsync())!.Values[MetricNames.ErrorRate]);

        // Still breaching with other figures: nothing the alert acts on changed, so the new values reach it with the
        // next telling, a reminder period after the last, not with every evaluation.
        await s.PushAsync(failures: 1, successes: 1);
        Assert.Equal(1, (await s.Alert.GetAsync())!.Values[MetricNames.ErrorRate]);
        Advance(TimeSpan.FromMinutes(1));
        await s.Server.EvaluateAsync();
        // Read as every door reads it (AlertCommands.ViewAsync): told in the answer to this telling, it may have gone
        // to sleep with values it did not store, and a reader then gets its server's latest.
        var rate = (await AlertCommands.ViewAsync(fixture.Grains, s.AlertId, fixture.Time))!.Values[MetricNames.ErrorRate];
        Assert.Equal(2 / 3.0, rate, 6);

        // A silence created meanwhile reaches it at the next evaluation.
        var now = fixture.Time.GetUtcNow();
        var silence = new Monitoring.Silences.Silence($"quiet-{s.Id}", [new("scenario", Monitoring.Silences.MatchOperator.Equal, s.Id)],
            now, now.AddHours(2), "alice", "maintenance", false, now);
        var catalog = fixture.Grains.GetGrain<Monitoring.Silences.ISilenceCatalogGrain>(Monitoring.Silences.ISilenceCatalogGrain.Key);
        Assert.True((await catalog.CreateAsync(silence)).Succeeded);
        await Eventually.TrueAsync(async () => { await s.Server.EvaluateAsync(); return await s.StatusAsync() == AlertStatus.Silenced; }, "the silence to reach the alert");
        Assert.True((await catalog.ExpireAsync(silence.Id)).Succeeded);

        // Resolved by hand while the condition still holds: the next evaluation opens a new episode.
        Assert.True((await AlertCommands.ResolveAsync(fixture.Grains, s.AlertId, "carol")).Succeeded);
        Assert.Equal(AlertStatus.Resolved, await s.StatusAsync());
        await Eventually.TrueAsync(async () => { await s.Server.EvaluateAsync(); return await s.StatusAsync() == AlertStatus.Firing; }, "a new episode");
        Assert.Equal(2, (await s.Alert.GetAsync())!.Episode);
    }

    [Fact]
    public async Task A_quiet_firing_alert_sleeps_and_its_server_wakes_it_a_reminder_period_before_its_next_notification()
    {
        // The rule repeats a firing alert's notification every 30 minutes; the reminder period is a minute.
        var (s, awake) = await FiredAndAsleepAsync();

        // Evaluations that bring no news leave it asleep, though the values move (it fell asleep a minute after firing).
        for (var minute = 2; minute <= 28; minute++)
        {
            Advance(TimeSpan.FromMinutes(1));
            await s.PushAsync(failures: 1, successes: 1);
            Assert.False(await awake(), $"asleep at minute {minute}");
        }

        // A reminder period before the repeat is due, its server wakes it, and its own timer sends the repeat on time.
        Advance(TimeSpan.FromMinutes(1.5));
        await s.PushAsync(failures: 1, successes: 1);
        Assert.True(await awake());
        Assert.Single(s.Hooks);
        Advance(TimeSpan.FromMinutes(0.6));
        var repeat = (await s.WaitForHooksAsync(2))[1];
        Assert.Equal("firing", repeat.Body.GetProperty("alert").GetProperty("status").GetString());
        await Eventually.TrueAsync(async () => (await s.Alert.GetNotificationsAsync()).All(d => d.IsFinal), "the repeat reported delivered");

        // Told its condition again a reminder period on, it answers that it sleeps; a reader of a sleeping alert then
        // sees its server's latest values, not those it was last told.
        Advance(TimeSpan.FromMinutes(1));
        await s.PushAsync(failures: 1, successes: 9);
        await Eventually.TrueAsync(async () => !await awake(), "the alert to sleep again after the repeat");
        Advance(TimeSpan.FromMinutes(1));
        var view = (await AlertCommands.ViewAsync(fixture.Grains, s.AlertId, fixture.Time))!;
        Assert.Equal(AlertStatus.Firing, view.Status);
        Assert.Equal(2, view.NotificationCount);
        var latest = (await s.Server.GetStatusAsync())!.Metrics[MetricNames.ErrorRate];
        Assert.NotEqual(0.5, latest, 6);
        Assert.Equal(latest, view.Values[MetricNames.ErrorRate], 6);
    }

    [Fact]
    public async Task An_alert_woken_by_a_person_with_a_deadline_near_stays_awake_and_its_server_knows_it()
    {
        var (s, awake) = await FiredAndAsleepAsync();

        // Suppressed for 100 s (as every door does it, through AlertCommands): a person's action keeps it awake, and its
        // server, which believed it asleep for half an hour, hears of it.
        Assert.True((await AlertCommands.SuppressAsync(fixture.Grains, s.AlertId, TimeSpan.FromSeconds(100), "bob")).Succeeded);
        Assert.True(await awake());

        // Its activation lost (as with its silo). Its server tells every awake open alert its condition at least once a
        // reminder period: the first evaluation a period on brings it back (one the server's own 15 s timer ran in
        // between may have told it just now, so the period is what is promised). The suppression's end is then 39 s
        // away, within a period: it stays awake on its timer, which ends the suppression on time.
        await s.Alert.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () => !await awake(), "the activation to be gone");
        Advance(TimeSpan.FromSeconds(61));
        var pushed = await s.PushAsync(failures: 1, successes: 0);
        Assert.Equal(0, pushed.Unreached);
        Assert.True(await awake(), "its server told it again");
        Assert.Equal(AlertStatus.Suppressed, await s.StatusAsync());
        Advance(TimeSpan.FromSeconds(40));
        await s.WaitForStatusAsync(AlertStatus.Firing);
    }

    [Fact]
    public async Task Acknowledging_stops_escalation_and_repeats()
    {
        var s = NewScenario();
        s = await Relabel(await s.SetUpAsync(r => r with { EscalateAfter = TimeSpan.FromMinutes(10), EscalationChannels = [s.EscalationChannelId], Cooldown = TimeSpan.FromMinutes(5) }));

        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        Assert.True((await AlertCommands.AcknowledgeAsync(fixture.Grains, s.AlertId, "alice")).Succeeded);
        var view = (await s.Alert.GetAsync())!;
        Assert.Equal(AlertStatus.Acknowledged, view.Status);
        Assert.Equal("alice", view.AcknowledgedBy);

        await KeepBreachingAsync(s, TimeSpan.FromMinutes(20));
        Assert.Equal(AlertStatus.Acknowledged, await s.StatusAsync());
        await Eventually.StaysFalseAsync(() => s.EscalationHooks.Count > 0 || s.Hooks.Count > 1, "no escalation or repeat after an ack");
    }

    [Fact]
    public async Task Acknowledging_an_alert_that_is_not_firing_is_refused()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { For = TimeSpan.FromMinutes(5) }));
        await s.PushAsync(failures: 1, successes: 0);
        var result = await AlertCommands.AcknowledgeAsync(fixture.Grains, s.AlertId, null);
        Assert.Equal(Monitoring.Common.WriteOutcome.Conflict, result.Outcome);
        Assert.Equal(AlertStatus.Pending, await s.StatusAsync());
    }

    [Fact]
    public async Task Suppression_holds_notifications_until_it_ends()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { For = TimeSpan.FromMinutes(1) }));

        await s.PushAsync(failures: 1, successes: 0);
        Assert.True((await AlertCommands.SuppressAsync(fixture.Grains, s.AlertId, TimeSpan.FromMinutes(10), "bob")).Succeeded);
        Advance(TimeSpan.FromMinutes(1));
        await s.Server.EvaluateAsync();
        Assert.Equal(AlertStatus.Suppressed, await s.StatusAsync());
        await Eventually.StaysFalseAsync(() => s.Hooks.Count > 0, "nothing sent while suppressed");

        await KeepBreachingAsync(s, TimeSpan.FromMinutes(9));
        await s.WaitForHooksAsync(1);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
    }

    [Fact]
    public async Task Without_auto_resolve_an_alert_stays_firing_until_resolved_by_hand()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { AutoResolve = false }));

        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        await s.PushAsync(failures: 0, successes: 100);
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());

        Assert.True((await AlertCommands.ResolveAsync(fixture.Grains, s.AlertId, "carol")).Succeeded);
        Assert.Equal(AlertStatus.Resolved, await s.StatusAsync());
        var hooks = await s.WaitForHooksAsync(2);
        Assert.Equal("resolved", hooks[1].Body.GetProperty("alert").GetProperty("status").GetString());
        Assert.Equal(Monitoring.Common.WriteOutcome.Conflict, (await AlertCommands.ResolveAsync(fixture.Grains, s.AlertId, null)).Outcome);
    }

    [Fact]
    public async Task A_rule_change_reaches_the_server_at_once()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { Condition = "error_rate > 0.5" }));
        await s.PushAsync(failures: 1, successes: 9);
        Assert.Equal(AlertStatus.Inactive, await s.StatusAsync());

        var rule = (await fixture.Grains.GetGrain<IAlertRuleGrain>(s.RuleId).GetAsync())!;
        Assert.True((await fixture.Grains.GetGrain<IAlertRuleGrain>(s.RuleId).UpdateAsync(rule with { Condition = "error_rate > 0.05" })).Succeeded);
        await s.WaitForStatusAsync(AlertStatus.Firing);
        await s.WaitForHooksAsync(1);
    }

    [Fact]
    public async Task Deleting_the_rule_resolves_its_open_alerts()
    {
        var s = await Relabel(await NewScenario().SetUpAsync());
        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);

        Assert.True(await fixture.Grains.GetGrain<IAlertRuleGrain>(s.RuleId).DeleteAsync());
        await s.WaitForStatusAsync(AlertStatus.Resolved);
        await s.WaitForHooksAsync(2);
    }

    [Fact]
    public async Task No_data_is_not_recovery_an_alert_whose_data_ages_out_stays_firing()
    {
        var s = await Relabel(await NewScenario().SetUpAsync());
        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);

        // No new telemetry: the 15 s timer re-evaluates; once the window has slid past the failure there is no data,
        // and no data says nothing about recovery. The alert stays firing and shows it has no data.
        for (var i = 0; i < 22; i++) Advance(TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(async () => (await s.Alert.GetAsync())!.NoData, "the alert to show it has no data");
        Assert.Equal(AlertStatus.Firing, await s.StatusAsync());
        await Eventually.StaysFalseAsync(() => s.Hooks.Count > 1, "no resolved message without healthy data");

        // Healthy data decides.
        await s.PushAsync(failures: 0, successes: 100);
        Assert.Equal(AlertStatus.Resolved, await s.StatusAsync());
        Assert.False((await s.Alert.GetAsync())!.NoData);
        Assert.Equal("resolved", (await s.WaitForHooksAsync(2))[1].Body.GetProperty("alert").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_rule_only_touches_servers_its_selector_matches()
    {
        var s = await Relabel(await NewScenario().SetUpAsync(r => r with { Selector = new() { ["env"] = "staging" } }));
        await s.PushAsync(failures: 10, successes: 0);
        Assert.Null(await s.Alert.GetAsync());
    }

    /// <summary>Lets time pass a minute at a step while the server keeps failing, so the window never empties.</summary>
    /// <summary>
    /// A scenario whose alert fired, had its notification delivered and, told its condition again a reminder period
    /// later with nothing due for half an hour, answered that it sleeps, stored what it holds and deactivated; and a
    /// way to ask whether its activation exists. (An alert sleeps only in its answer to its server.)
    /// </summary>
    private async Task<(Scenario Scenario, Func<Task<bool>> AwakeAsync)> FiredAndAsleepAsync()
    {
        var s = await Relabel(await NewScenario().SetUpAsync());
        var alertId = ((GrainReference)s.Alert).GrainId;
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        async Task<bool> AwakeAsync() => (await management.GetActiveGrains(alertId.Type)).Contains(alertId);
        await s.PushAsync(failures: 1, successes: 0);
        await s.WaitForHooksAsync(1);
        await Eventually.TrueAsync(async () => (await s.Alert.GetNotificationsAsync()).All(d => d.IsFinal), "the channel's report of the delivery");
        Assert.True(await AwakeAsync(), "awake until its server tells it again");
        Advance(TimeSpan.FromMinutes(1));
        await s.PushAsync(failures: 1, successes: 0);
        await Eventually.TrueAsync(async () => !await AwakeAsync(), "the alert to go to sleep in its answer once its notification was delivered");
        return (s, AwakeAsync);
    }

    private async Task KeepBreachingAsync(Scenario s, TimeSpan total)
    {
        for (var passed = TimeSpan.Zero; passed < total; passed += TimeSpan.FromMinutes(1))
        {
            Advance(TimeSpan.FromMinutes(1));
            await s.PushAsync(failures: 1, successes: 0);
        }
    }

    /// <summary>Gives the scenario's server its scenario label, so only its own rule selects it.</summary>
    private async Task<Scenario> Relabel(Scenario s)
    {
        var server = (await s.Server.GetAsync())!;
        Assert.True((await s.Server.UpdateAsync(server with { Labels = s.Labels })).Succeeded);
        return s;
    }
}
