namespace Monitoring.Channels.Delivery;

/// <summary>
/// A channel's unfinished outbox entries in the order recorded: adding and removing are O(1), and a walk from the
/// oldest may remove the entry it stands on. A storm's queue of thousands is walked only as far as the sends allowed
/// in flight, never copied.
/// </summary>
public sealed class OutboxQueue : IEnumerable<OutboxEntry>
{
    private readonly LinkedList<OutboxEntry> _list = new();
    private readonly Dictionary<OutboxEntry, LinkedListNode<OutboxEntry>> _nodes = new(ReferenceEqualityComparer.Instance);

    public int Count => _list.Count;

    /// <summary>How many wait on a rate limit (a walk of the whole queue: for views, not for the hot path).</summary>
    public int Held => _list.Count(e => e.Held);

    public void Add(OutboxEntry entry) => _nodes[entry] = _list.AddLast(entry);

    public bool Remove(OutboxEntry entry)
    {
        if (!_nodes.Remove(entry, out var node)) return false;
        _list.Remove(node);
        return true;
    }

    public IEnumerator<OutboxEntry> GetEnumerator()
    {
        var node = _list.First;
        while (node is not null)
        {
            var next = node.Next;
            yield return node.Value;
            node = next;
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
