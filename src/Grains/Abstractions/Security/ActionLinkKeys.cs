using System.Security.Cryptography;
using Monitoring.Replication;

namespace Monitoring.Security;

/// <summary>
/// One key that signs action links: 32 random bytes, stored sealed by the cluster's key ring (Data Protection, purpose
/// <see cref="ActionLinkKeys.SealPurpose"/>; <see cref="Sealed"/> is the protected bytes in base64), never in the
/// clear and never in a response or log.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ActionLinkKey")]
public sealed record ActionLinkKey(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Sealed")] string Sealed,
    [property: Id(2), JsonPropertyName("Created")] DateTimeOffset Created);

/// <summary>The signing keys the cluster keeps, oldest first; the version moves with every change.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ActionLinkKeySet")]
public sealed record ActionLinkKeySet([property: Id(0), JsonPropertyName("Version")] long Version, [property: Id(1), JsonPropertyName("Keys")] ActionLinkKey[] Keys)
{
    public static readonly ActionLinkKeySet Empty = new(0, []);
}

/// <summary>
/// The cluster's action-link signing keys. Asking for them is also what makes the first key, and a new one when the
/// newest is <see cref="ActionLinkKeys.Rotation"/> old, and lets go of keys no unexpired link can carry.
/// </summary>
[Alias("mcp.IActionLinkKeysGrain")]
public interface IActionLinkKeysGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    /// <summary>The keys, or null when the caller's version is current.</summary>
    Task<ActionLinkKeySet?> GetIfChangedAsync(long knownVersion);
}

/// <summary>
/// When action-link keys are made, used and let go; a pure schedule, the grain only stores what it decides.
/// <list type="bullet">
/// <item>A new key is made when there is none, or the newest is <see cref="Rotation"/> old.</item>
/// <item>A new key signs only once it is <see cref="Publication"/> old, so that every process has read it before a
/// link made with it arrives (each reads the keys at least every <see cref="RefreshInterval"/>); until then the key
/// before it signs. The first key signs at once: no process holds a copy without it.</item>
/// <item>A key is let go once its successor has signed for longer than a link lives, so no link it signed still works.</item>
/// </list>
/// </summary>
public static class ActionLinkKeys
{
    public const string SealPurpose = "Monitoring.ActionLinks.Keys.v1";
    public static readonly TimeSpan Rotation = TimeSpan.FromDays(30);
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Publication = TimeSpan.FromMinutes(5);

    /// <summary>Whether a key must be made now.</summary>
    public static bool Due(IReadOnlyList<ActionLinkKey> keys, DateTimeOffset now) => keys.Count == 0 || now - keys[^1].Created >= Rotation;

    /// <summary>The keys to keep: all but those whose successor has signed for longer than <paramref name="linkLifetime"/>.</summary>
    public static ActionLinkKey[] Kept(IReadOnlyList<ActionLinkKey> keys, DateTimeOffset now, TimeSpan linkLifetime) =>
        [.. keys.Where((_, i) => i == keys.Count - 1 || now < keys[i + 1].Created + Publication + linkLifetime)];

    /// <summary>The key that signs now: the newest published one, or the oldest while none is.</summary>
    public static ActionLinkKey? Signing(IReadOnlyList<ActionLinkKey> keys, DateTimeOffset now) =>
        keys.LastOrDefault(k => now - k.Created >= Publication) ?? keys.FirstOrDefault();

    /// <summary>A new key's id (16 hex digits) and its secret, before sealing.</summary>
    public static (string Id, byte[] Secret) New() => (Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), RandomNumberGenerator.GetBytes(32));
}

/// <summary>
/// A process's copy (a silo's, the API's) of the signing keys, opened: a <see cref="Replica{T}"/> of their owner (the keys grain),
/// read at most every <see cref="ActionLinkKeys.RefreshInterval"/>, each key unsealed once per version.
/// <paramref name="unprotect"/> opens a key's sealed bytes with the process's key ring (a Data Protection protector
/// with purpose <see cref="ActionLinkKeys.SealPurpose"/>).
/// </summary>
public sealed class ActionLinkKeyRing(Func<long, Task<ActionLinkKeySet?>> getIfChanged, Func<byte[], byte[]> unprotect, TimeProvider time)
{
    private readonly Replica<ActionLinkKeySet> _replica = new(ActionLinkKeySet.Empty, set => set.Version, getIfChanged, TimeProvider.System, ActionLinkKeys.RefreshInterval);
    private Opened _opened = new(ActionLinkKeySet.Empty, [], new Dictionary<string, byte[]>());

    /// <summary>The copy of the cluster's keys grain.</summary>
    public static ActionLinkKeyRing Of(IGrainFactory grains, Func<byte[], byte[]> unprotect, TimeProvider time) =>
        new(known => grains.GetGrain<IActionLinkKeysGrain>(IActionLinkKeysGrain.Key).GetIfChangedAsync(known), unprotect, time);

    /// <summary>A version of the keys as read, the keys this process could open, and their secrets.</summary>
    private sealed record Opened(ActionLinkKeySet Source, ActionLinkKey[] Keys, Dictionary<string, byte[]> Secrets);

    /// <summary>The key that signs now and its secret, or null when this process can open none.</summary>
    public async ValueTask<(string Id, byte[] Secret)?> SigningAsync()
    {
        var opened = await OpenedAsync();
        return ActionLinkKeys.Signing(opened.Keys, time.GetUtcNow()) is { } key ? (key.Id, opened.Secrets[key.Id]) : null;
    }

    /// <summary>The secret of the key with this id, or null when the cluster keeps no such key (any more).</summary>
    public async ValueTask<byte[]?> FindAsync(string id) => (await OpenedAsync()).Secrets.GetValueOrDefault(id);

    private async ValueTask<Opened> OpenedAsync()
    {
        var set = await _replica.GetAsync();
        var opened = Volatile.Read(ref _opened);
        if (ReferenceEquals(opened.Source, set)) return opened;
        var secrets = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in set.Keys)
        {
            // A key this process's key ring cannot open (a key ring restored apart from the state) signs and opens nothing.
            if (Unsealed(key) is { } secret) secrets[key.Id] = secret;
        }
        opened = new Opened(set, [.. set.Keys.Where(k => secrets.ContainsKey(k.Id))], secrets);
        Volatile.Write(ref _opened, opened);
        return opened;
    }

    private byte[]? Unsealed(ActionLinkKey key)
    {
        try
        {
            return unprotect(Convert.FromBase64String(key.Sealed));
        }
        catch (CryptographicException)
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
