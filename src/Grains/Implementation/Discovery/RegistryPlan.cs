using System.Text.RegularExpressions;
using Monitoring.Servers;

namespace Monitoring.Discovery;

/// <summary>What a poll changes: the servers to register or update (by id), and the ids whose registry entry is gone.</summary>
public sealed record DiscoveryChanges(Dictionary<string, McpServer> Wanted, string[] Gone);

/// <summary>
/// From a registry's entries to servers, with no cluster (table-tested): each remote endpoint of an active entry whose
/// name matches becomes a server <c>{source}.{name}</c> (<c>-2</c>, <c>-3</c>… for further remotes), labelled with the
/// source's labels, what its relabeling makes of the meta labels (<c>__meta_registry_name</c>, <c>…_title</c>,
/// <c>…_remote_type</c>, <c>__endpoint__</c>), and <c>discovery_source</c>; one its relabeling drops is left out. A full listing removes every server the source had that is not in it;
/// a listing of changes removes only the entries it says are deleted or no longer qualify.
/// </summary>
public static partial class RegistryPlan
{
    public static readonly string[] Transports = ["streamable-http", "sse"];

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex NotInId();

    public static DiscoveryChanges Plan(DiscoverySource source, IReadOnlyList<RegistryEntry> entries, IReadOnlyDictionary<string, string> known, bool full)
    {
        var pattern = source.NamePattern is { } p ? new Regex(p, RegexOptions.None, TimeSpan.FromMilliseconds(100)) : null;
        var wanted = new Dictionary<string, McpServer>(StringComparer.Ordinal);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            listed.Add(entry.Name);
            if (entry.Status is "deleted" || pattern is not null && !pattern.IsMatch(entry.Name)) continue;
            var remotes = entry.Remotes.Where(r => Transports.Contains(r.Type) && Uri.TryCreate(r.Url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https").ToArray();
            for (var i = 0; i < remotes.Length; i++)
            {
                var id = IdOf(source.Id, entry.Name, i);
                var labels = new Dictionary<string, string>(source.Labels, StringComparer.Ordinal)
                {
                    ["__meta_registry_name"] = entry.Name,
                    ["__meta_registry_title"] = entry.Title ?? "",
                    ["__meta_registry_remote_type"] = remotes[i].Type,
                    ["__endpoint__"] = remotes[i].Url,
                };
                if (Relabeling.Apply(source.Relabel, labels) is not { } relabeled
                    || !Uri.TryCreate(relabeled.GetValueOrDefault("__endpoint__"), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                {
                    continue;
                }
                wanted[id] = new McpServer(id, entry.Title ?? entry.Name, endpoint.ToString(), Relabeling.Finish(relabeled, source.Id), true, default, default)
                {
                    Origin = new ServerOrigin(source.Id, $"{entry.Name}#{i}"),
                    Probe = ProbeSettings.Default with { Transport = remotes[i].Type == "sse" ? ProbeTransport.Sse : ProbeTransport.StreamableHttp },
                };
            }
        }
        // Full: whatever is not wanted now is gone. Changes only: what a listed entry no longer yields is gone.
        var gone = known.Where(k => !wanted.ContainsKey(k.Key) && (full || listed.Contains(NameOf(k.Value)))).Select(k => k.Key).Order(StringComparer.Ordinal).ToArray();
        return new DiscoveryChanges(wanted, gone);
    }

    public static string IdOf(string sourceId, string name, int remote)
    {
        var id = $"{sourceId}.{NotInId().Replace(name, "-")}" + (remote == 0 ? "" : $"-{remote + 1}");
        return id.Length <= 128 ? id : id[..119] + "-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)))[..8];
    }

    private static string NameOf(string reference) => reference[..reference.LastIndexOf('#')];
}
