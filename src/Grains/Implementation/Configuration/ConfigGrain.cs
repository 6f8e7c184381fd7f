using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Listings;
using Monitoring.Rules;
using Monitoring.Servers;
using Monitoring.Settings;

namespace Monitoring.Configuration;

/// <summary>
/// Applies configuration documents, one at a time for the whole cluster (applies are rare; a plan is cheap), and keeps
/// which namespace owns each resource. A document is checked whole first; then the apply is journaled, written
/// resource by resource, and the journal cleared. A silo dying in between leaves the journal, and the next activation
/// writes the apply again to its end (each write is "make it so"). A write refused part-way (a hand edit racing the
/// apply) puts back what was written and refuses the apply.
/// </summary>
[GrainType("config")]
public sealed class ConfigGrain(
    [PersistentState("config", StorageNames.Rules)] IPersistentState<ConfigState> state,
    ConfigChecks checks,
    Security.SecretSealer sealer,
    IListingStore listings,
    TimeProvider time,
    ILogger<ConfigGrain> logger)
    : Grain, IConfigGrain
{
    private ConfigWriter Writer => new(GrainFactory);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Pending is { } pending)
        {
            logger.LogWarning("Configuration: the apply of namespace {Namespace} was cut short; writing it to its end", pending.Desired.Namespace);
            await CarryOutAsync(Sealing(pending, sealer.Unseal), rollbackOnRefusal: false);
        }
    }

    public Task<ConfigNamespace[]> GetNamespacesAsync() =>
        Task.FromResult(state.State.Namespaces.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToArray());

    public async Task<ConfigApplyResult> ApplyAsync(ConfigApply apply)
    {
        var name = apply.Desired.Namespace;
        var current = state.State.Namespaces.GetValueOrDefault(name) ?? ConfigNamespace.New(name);
        if (apply.ExpectedVersion is { } expected && expected != current.Version)
        {
            var by = current.AppliedBy is null ? "" : $", applied by {current.AppliedBy} at {current.AppliedAt:u}";
            return new(WriteResult.Conflict($"namespace '{name}' is at version {current.Version}{by}, not {expected}: plan again"), current.Version, current.Version);
        }
        var errors = await CheckAsync(apply, current);
        if (errors.Length > 0) return new(WriteResult.Invalid(errors), current.Version, current.Version);
        if (apply.DryRun) return new(WriteResult.Ok, current.Version, current.Version);
        if (apply.Writes.Length == 0 && apply.Deletes.Length == 0 && current.Owned.Union(apply.Desired.Keys).Count() == current.Owned.Length)
        {
            return new(WriteResult.Ok, current.Version, current.Version); // the same document again: nothing changes, not even the version
        }

        state.State.Pending = Sealing(apply, sealer.Seal); // the journal holds secrets as the resources do: sealed
        await state.WriteStateAsync();
        var result = await CarryOutAsync(apply, rollbackOnRefusal: true);
        var after = state.State.Namespaces.GetValueOrDefault(name) ?? current;
        return new(result, current.Version, after.Version);
    }

    /// <summary>How many writes of one kind run at once: resources of a kind are independent grains; kinds go in order.</summary>
    private const int Parallelism = 32;

    /// <summary>Writes, then deletes, kind by kind in reference order; then records the namespace and clears the journal.</summary>
    private async Task<WriteResult> CarryOutAsync(ConfigApply apply, bool rollbackOnRefusal)
    {
        var writer = Writer;
        var done = new List<(ConfigKey Key, ConfigSet? Before)>();
        var steps = apply.Writes.Order().Select(k => (Key: k, Delete: false))
            .Concat(apply.Deletes.OrderDescending().Select(k => (Key: k, Delete: true)));
        foreach (var group in steps.GroupBy(s => (s.Key.Kind, s.Delete)))
        {
            if (group.Key is (ConfigKey.ServerKind, false)) await writer.ListServersAsync([.. group.Select(s => s.Key.Id)]);
            var parallel = group.Key.Kind is ConfigKey.ServerKind or ConfigKey.RuleKind or ConfigKey.ChannelKind or ConfigKey.PolicyKind ? Parallelism : 1;
            var outcomes = new List<(ConfigKey Key, bool Delete, ConfigSet? Before, WriteResult? Result, Exception? Error)>();
            using var gate = new SemaphoreSlim(parallel);
            await Task.WhenAll(group.Select(async step =>
            {
                await gate.WaitAsync();
                try
                {
                    var before = rollbackOnRefusal ? await writer.ReadAsync(step.Key) : null;
                    var result = step.Delete ? await writer.DeleteAsync(step.Key) : await writer.WriteAsync(apply.Desired, step.Key);
                    outcomes.Add((step.Key, step.Delete, before, result, null));
                }
                catch (Exception e) when (rollbackOnRefusal)
                {
                    outcomes.Add((step.Key, step.Delete, null, null, e));
                }
                finally
                {
                    gate.Release();
                }
            }));
            done.AddRange(outcomes.Where(o => o.Result?.Succeeded == true).Select(o => (o.Key, o.Before)));
            if (outcomes.FirstOrDefault(o => o.Result?.Succeeded != true) is not { Key: not null } failed) continue;

            // Refused, or failed: put back what was written, so nothing of the apply stays.
            if (rollbackOnRefusal) await RollBackAsync(writer, done);
            state.State.Pending = null;
            await state.WriteStateAsync();
            if (failed.Error is { } error)
            {
                logger.LogWarning(error, "Configuration: {Key} of namespace {Namespace} could not be written; what the apply wrote was put back", failed.Key, apply.Desired.Namespace);
                return WriteResult.Conflict($"{failed.Key} could not be written ({error.GetType().Name}); what this apply had written was put back, so nothing changed: apply again");
            }
            var result = failed.Result!;
            var path = failed.Delete ? failed.Key.ToString() : ConfigChecks.PathOf(apply.Desired, failed.Key);
            logger.LogWarning("Configuration: {Key} of namespace {Namespace} was refused part-way: {Errors}", failed.Key, apply.Desired.Namespace,
                string.Join("; ", result.Errors.Select(e => $"{e.Field}: {e.Message}")));
            // Whatever the resource's grain answered, the apply is refused as a whole, at the resource's place.
            FieldError[] errors = result.Errors.Length > 0
                ? [.. result.Errors.Select(e => e with { Field = $"{path}.{e.Field}" })]
                : [new FieldError(path, $"{failed.Key} was refused part-way ({result.Outcome}); nothing of the apply was kept")];
            return WriteResult.Invalid(errors);
        }
        var name = apply.Desired.Namespace;
        var previous = state.State.Namespaces.GetValueOrDefault(name) ?? ConfigNamespace.New(name);
        var owned = previous.Owned.Except(apply.Deletes).Union(apply.Desired.Keys).Order().ToArray();
        state.State.Namespaces[name] = new ConfigNamespace(name, previous.Version + 1, owned, time.GetUtcNow(), apply.By);
        state.State.Pending = null;
        await state.WriteStateAsync();
        logger.LogInformation("Configuration: namespace {Namespace} applied by {By} at version {Version}: {Writes} written, {Deletes} deleted",
            name, apply.By, previous.Version + 1, apply.Writes.Length, apply.Deletes.Length);
        return WriteResult.Ok;
    }

    /// <summary>Puts back what an apply wrote, kind by kind in the reverse order it was written.</summary>
    private async Task RollBackAsync(ConfigWriter writer, List<(ConfigKey Key, ConfigSet? Before)> done)
    {
        foreach (var group in Enumerable.Reverse(done).GroupBy(d => d.Key.Kind))
        {
            using var gate = new SemaphoreSlim(Parallelism);
            await Task.WhenAll(group.Select(async item =>
            {
                await gate.WaitAsync();
                try
                {
                    var result = item.Before is null ? await writer.DeleteAsync(item.Key) : await writer.WriteAsync(item.Before, item.Key);
                    if (!result.Succeeded) logger.LogError("Configuration: {Key} could not be put back: {Errors}", item.Key, string.Join("; ", result.Errors.Select(e => e.Message)));
                }
                catch (Exception e)
                {
                    logger.LogError(e, "Configuration: {Key} could not be put back", item.Key);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
    }

    /// <summary>Everything that would refuse the apply: values, references, ownership, the outbound policy, deletes still in use.</summary>
    private async Task<FieldError[]> CheckAsync(ConfigApply apply, ConfigNamespace current)
    {
        var set = apply.Desired;
        var errors = new List<FieldError>();
        var owners = Owners();
        foreach (var key in set.Keys)
        {
            if (owners.GetValueOrDefault(key) is { } owner && owner != set.Namespace)
            {
                errors.Add(new(ConfigChecks.PathOf(set, key), $"{key} is owned by namespace '{owner}'; only its document changes it"));
            }
        }
        var declared = set.Keys.ToHashSet();
        foreach (var key in apply.Deletes)
        {
            if (!current.Owned.Contains(key)) errors.Add(new("prune", $"{key} is not owned by namespace '{set.Namespace}', so it is never deleted by it"));
            else if (declared.Contains(key)) errors.Add(new("prune", $"{key} is declared by the document; it cannot also be deleted"));
        }
        foreach (var key in apply.Writes.Where(k => !declared.Contains(k))) errors.Add(new("writes", $"{key} is not declared by the document"));

        // References to what the document does not declare: the cluster must have it, and this apply must not delete it.
        var deletes = apply.Deletes.ToHashSet();
        var outside = new Dictionary<ConfigKey, bool>();
        foreach (var reference in ConfigChecks.References(set).Where(r => !declared.Contains(r.Key)).DistinctBy(r => r.Key))
        {
            outside[reference.Key] = !deletes.Contains(reference.Key) && await Writer.ExistsAsync(reference.Key);
        }
        errors.AddRange(checks.Check(set, key => outside.GetValueOrDefault(key)));

        var servers = set.Servers.Where(s => apply.Writes.Contains(ConfigKey.Server(s.Id))).ToArray();
        if (servers.Length > 0)
        {
            var unreachable = await GrainFactory.GetGrain<IServerAddressCheckGrain>(0).CheckAsync(servers);
            // The check names servers by their place in what it was given; name them by their place in the document.
            foreach (var e in unreachable)
            {
                var close = e.Field.IndexOf(']');
                var index = int.Parse(e.Field["servers[".Length..close]);
                errors.Add(e with { Field = ConfigChecks.PathOf(set, ConfigKey.Server(servers[index].Id)) + e.Field[(close + 1)..] });
            }
        }
        errors.AddRange(await DeletesInUse.CheckAsync(GrainFactory, listings, apply));
        return [.. errors];
    }

    /// <summary>The apply with every secret (channel configs, probe header values) sealed, or unsealed.</summary>
    private static ConfigApply Sealing(ConfigApply apply, Func<string, string> transform) => apply with
    {
        Desired = apply.Desired with
        {
            Channels = [.. apply.Desired.Channels.Select(c => c with { Config = transform(c.Config) })],
            Servers = [.. apply.Desired.Servers.Select(s => s with
            {
                Probe = s.Probe with { Headers = s.Probe.Headers.ToDictionary(h => h.Key, h => transform(h.Value), StringComparer.OrdinalIgnoreCase) },
            })],
        },
    };

    private Dictionary<ConfigKey, string> Owners()
    {
        var owners = new Dictionary<ConfigKey, string>();
        foreach (var ns in state.State.Namespaces.Values)
        {
            foreach (var key in ns.Owned) owners[key] = ns.Name;
        }
        return owners;
    }
}
