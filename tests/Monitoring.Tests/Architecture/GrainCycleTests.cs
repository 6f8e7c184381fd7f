using ArchUnitNET.Loader;

namespace Monitoring.Tests.Architecture;

/// <summary>
/// Grains that call each other in loops are hard to reason about and can deadlock a non-reentrant pair. This builds
/// the grain call graph from the built assemblies (a grain class naming another grain's interface anywhere in its code,
/// or in the code of the helper classes it uses, to any depth) and finds its loops. The calls that lie on a loop are listed below, to be removed one by one: a new one fails the
/// build (a new loop, or a new call inside a tangle that exists), and one that is gone must leave the list. A sink interface (<see cref="Monitoring.Channels.IDeliverySink"/>) does not
/// count: its callee is named by the message, not by the caller's code.
/// </summary>
public sealed class GrainCycleTests
{
    /// <summary>
    /// The calls on loops left, "caller -> callee": none. The last eight (server and alert, alert and incident,
    /// Alertmanager-API alerts and incident, server and shard) went when a person's commands moved to
    /// <see cref="Monitoring.Alerts.AlertCommands"/> and registration to <see cref="Monitoring.Servers.ServerShards.RegisterAsync"/>.
    /// </summary>
    private static readonly string[] KnownLoopCalls = [];

    private static readonly System.Type[] Sinks = [typeof(Monitoring.Channels.IDeliverySink)];

    [Fact]
    public void No_new_loop_between_grains_and_the_known_ones_are_listed_until_removed()
    {
        var calls = LoopCalls().Order(StringComparer.Ordinal).ToArray();
        var added = calls.Except(KnownLoopCalls).ToArray();
        var gone = KnownLoopCalls.Except(calls).ToArray();
        Assert.True(added.Length == 0, $"a new call on a loop between grains: {string.Join("; ", added)}");
        Assert.True(gone.Length == 0, $"these calls are no longer on a loop: take them out of KnownLoopCalls: {string.Join("; ", gone)}");
    }

    /// <summary>The calls between two grains of one strongly connected part of the grain call graph.</summary>
    private static List<string> LoopCalls()
    {
        var grains = typeof(Monitoring.Alerts.AlertGrain).Assembly;
        var abstractions = typeof(Monitoring.Rules.AlertRule).Assembly;
        var classes = grains.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Grain).IsAssignableFrom(t)).ToArray();
        var interfaces = abstractions.GetTypes().Concat(grains.GetTypes())
            .Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t) && !Sinks.Contains(t)).ToArray();
        // An interface names the grain classes that implement it as their own (not only through a sink).
        var implementers = interfaces.ToDictionary(i => i.FullName!, i => classes.Where(c => i.IsAssignableFrom(c)).Select(c => c.FullName!).ToArray());

        var architecture = new ArchLoader().LoadAssemblies(grains, abstractions).Build();
        // What each class of the grains assembly names directly, nested types (lambdas, async state machines) folded
        // into the class that holds them.
        var grainTypes = grains.GetTypes().Where(t => !t.IsNested).Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);
        var named = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in architecture.Types)
        {
            var outer = type.FullName.Split('+')[0];
            if (!grainTypes.Contains(outer)) continue;
            if (!named.TryGetValue(outer, out var set)) named[outer] = set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var dependency in type.Dependencies) set.Add(dependency.Target.FullName.Split('+')[0]);
        }
        var classNames = classes.Select(c => c.FullName!).ToHashSet(StringComparer.Ordinal);
        // A silo's copy of a catalog (a class holding a Replica<T>) calls its owner only to read it, interleaved and
        // versioned: a read of a replica cannot deadlock and is no step of the pipeline, so it is not followed.
        var replicas = grains.GetTypes().Where(t => t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)
            .Any(f => f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(Monitoring.Replication.Replica<>))).Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);
        var edges = classes.ToDictionary(c => c.FullName!, _ => new HashSet<string>(StringComparer.Ordinal));
        foreach (var owner in classNames)
        {
            // A grain calls what it names, and what the helpers it uses name (a class that is not a grain, followed
            // to any depth): moving a call into a helper does not take it off the graph.
            var seen = new HashSet<string>([owner], StringComparer.Ordinal);
            var queue = new Queue<string>([owner]);
            while (queue.TryDequeue(out var current))
            {
                foreach (var target in named.GetValueOrDefault(current) ?? [])
                {
                    if (implementers.TryGetValue(target, out var callees))
                    {
                        foreach (var callee in callees.Where(c => c != owner)) edges[owner].Add(callee);
                    }
                    else if (grainTypes.Contains(target) && !classNames.Contains(target) && !replicas.Contains(target) && seen.Add(target))
                    {
                        queue.Enqueue(target);
                    }
                }
            }
        }
        static string Name(string fullName) => fullName[(fullName.LastIndexOf('.') + 1)..];
        var calls = new List<string>();
        foreach (var part in StronglyConnected(edges).Where(part => part.Length > 1))
        {
            foreach (var from in part)
            {
                calls.AddRange(edges[from].Where(part.Contains).Select(to => $"{Name(from)} -> {Name(to)}"));
            }
        }
        return calls;
    }

    /// <summary>Tarjan's algorithm.</summary>
    private static List<string[]> StronglyConnected(Dictionary<string, HashSet<string>> edges)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var parts = new List<string[]>();
        var next = 0;
        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var to in edges.GetValueOrDefault(node) ?? [])
            {
                if (!index.ContainsKey(to)) { Visit(to); low[node] = Math.Min(low[node], low[to]); }
                else if (onStack.Contains(to)) low[node] = Math.Min(low[node], index[to]);
            }
            if (low[node] != index[node]) return;
            var part = new List<string>();
            string popped;
            do { popped = stack.Pop(); onStack.Remove(popped); part.Add(popped); } while (popped != node);
            parts.Add([.. part]);
        }
        foreach (var node in edges.Keys.Order(StringComparer.Ordinal)) if (!index.ContainsKey(node)) Visit(node);
        return parts;
    }
}
