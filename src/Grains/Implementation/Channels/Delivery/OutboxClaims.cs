namespace Monitoring.Channels.Delivery;

/// <summary>
/// Which activation of a delivery worker may send an outbox row. After a silo's death Orleans can find a worker
/// activated twice (its directory entry lived on the dead silo) and put one away; both may have loaded the same pending
/// row. A row is claimed: recording it claims it for the recorder, and any other activation takes it over only once the
/// claim's lease has run out or its owner's silo is dead (by the cluster's membership). Taking over is a compare-and-set
/// on the claim the taker saw (owner and lease), so two takers cannot both win, nor a taker beat an owner's renewal. An owner renews its claim before an attempt when less
/// than half its lease is left, so only a send that waits out a long backoff pays a statement for it. Pure rules,
/// tested by a table; <see cref="ClaimStage"/> carries them out against the store.
/// </summary>
public static class OutboxClaims
{
    /// <summary>How long a claim holds without renewal: the longest another activation waits for a live owner's row.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    public enum Step
    {
        /// <summary>This activation holds the row with time to spare: send.</summary>
        Go,

        /// <summary>This activation holds the row with less than half its lease left: renew, then send.</summary>
        Renew,

        /// <summary>Nobody holds the row (recorded before claims), its lease ran out, or its owner's silo is dead: take it, then send.</summary>
        Take,

        /// <summary>Another live activation holds the row: leave it until its lease runs out.</summary>
        Wait,
    }

    public static Step Decide(string? claimedBy, DateTimeOffset? claimedUntil, string me, DateTimeOffset now, Func<string, bool> ownerGone)
    {
        if (claimedBy == me) return claimedUntil is { } mine && mine - now > Lease / 2 ? Step.Go : Step.Renew;
        if (claimedBy is null || claimedUntil is not { } until || until <= now || ownerGone(claimedBy)) return Step.Take;
        return Step.Wait;
    }

    /// <summary>An owner's name: its silo (to ask the membership whether it is dead) and its activation.</summary>
    public static string Owner(string silo, Guid activation) => $"{silo}|{activation:N}";

    /// <summary>The silo part of an owner's name.</summary>
    public static string SiloOf(string owner) => owner.LastIndexOf('|') is var bar and >= 0 ? owner[..bar] : owner;
}

/// <summary>One worker activation's claims on its rows (<see cref="OutboxClaims"/>).</summary>
internal sealed class ClaimStage(IOutboxStore outbox, IClusterMembershipService membership, TimeProvider time, string channelId, string silo)
{
    public enum Outcome { Go, Wait, Lost }

    /// <summary>This activation's name on the rows it records and takes.</summary>
    public string Me { get; } = OutboxClaims.Owner(silo, Guid.NewGuid());

    /// <summary>Stamps a row this activation records: it holds it from the start.</summary>
    public void Stamp(OutboxEntry entry, DateTimeOffset now) => (entry.ClaimedBy, entry.ClaimedUntil) = (Me, LeaseFrom(now));

    /// <summary>
    /// Whether this activation may send the row now. <c>Wait</c> comes with when to look again: another live activation
    /// holds it, or took or renewed it since this one looked (its claim is read again). <c>Lost</c>: it is finished.
    /// </summary>
    public async Task<(Outcome Outcome, DateTimeOffset? Until)> ClaimAsync(OutboxEntry entry)
    {
        var now = time.GetUtcNow();
        switch (OutboxClaims.Decide(entry.ClaimedBy, entry.ClaimedUntil, Me, now, OwnerGone))
        {
            case OutboxClaims.Step.Go:
                return (Outcome.Go, null);
            case OutboxClaims.Step.Wait:
                return (Outcome.Wait, entry.ClaimedUntil);
        }
        var until = LeaseFrom(now);
        if (await outbox.TryClaimAsync(channelId, entry.Key, (entry.ClaimedBy, entry.ClaimedUntil), Me, until))
        {
            (entry.ClaimedBy, entry.ClaimedUntil) = (Me, until);
            return (Outcome.Go, null);
        }
        // Another activation took or renewed it since: what the store holds now decides (the rare path pays a read).
        if ((await outbox.PendingAsync(channelId)).FirstOrDefault(row => row.Key == entry.Key) is not { } stored) return (Outcome.Lost, null);
        (entry.ClaimedBy, entry.ClaimedUntil) = (stored.ClaimedBy, stored.ClaimedUntil);
        return (Outcome.Wait, stored.ClaimedUntil ?? now);
    }

    /// <summary>A lease's end, in whole milliseconds: the store keeps no finer time, and a claim is compared as stored.</summary>
    private static DateTimeOffset LeaseFrom(DateTimeOffset now)
    {
        var until = now + OutboxClaims.Lease;
        return until.AddTicks(-(until.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>Only a silo the membership says is dead: one it does not know yet may have just joined and be sending.</summary>
    private bool OwnerGone(string owner)
    {
        try
        {
            var address = SiloAddress.FromParsableString(OutboxClaims.SiloOf(owner));
            return membership.CurrentSnapshot.GetSiloStatus(address) == SiloStatus.Dead;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
