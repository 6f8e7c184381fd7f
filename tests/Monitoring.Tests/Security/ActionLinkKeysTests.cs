using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Monitoring.Security;
using Orleans.Core.Internal;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Security;

/// <summary>The action-link keys' schedule (made, signing, let go) as a table, and the signed token's format.</summary>
public sealed class ActionLinkKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>Keys by name, each made this long before now: "a:40d b:1m" is a (40 days old), then b (a minute old).</summary>
    private static ActionLinkKey[] Keys(string keys) =>
        [.. keys.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(k => k.Split(':')).Select(k => new ActionLinkKey(k[0], "", Now - Age(k[1])))];

    private static TimeSpan Age(string age) => age[^1] switch
    {
        'd' => TimeSpan.FromDays(double.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture)),
        'h' => TimeSpan.FromHours(double.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture)),
        'm' => TimeSpan.FromMinutes(double.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture)),
        _ => TimeSpan.FromSeconds(double.Parse(age[..^1], System.Globalization.CultureInfo.InvariantCulture)),
    };

    [Theory]
    [InlineData("", true)] // the first key
    [InlineData("a:29d", false)]
    [InlineData("a:30d", true)] // Rotation
    [InlineData("a:40d b:29d", false)]
    [InlineData("a:40d b:30d", true)]
    public void A_key_is_made_when_there_is_none_or_the_newest_is_a_rotation_old(string keys, bool due) =>
        Assert.Equal(due, ActionLinkKeys.Due(Keys(keys), Now));

    [Theory]
    [InlineData("a:1s", "a")] // the first key signs at once: no copy lacks it
    [InlineData("a:30d b:1s", "a")] // a new key waits until every process has read it
    [InlineData("a:30d b:299s", "a")]
    [InlineData("a:30d b:5m", "b")] // Publication
    [InlineData("b:2d", "b")]
    [InlineData("a:60d b:30d c:1m", "b")]
    public void The_newest_published_key_signs_or_the_oldest_while_none_is(string keys, string signing) =>
        Assert.Equal(signing, ActionLinkKeys.Signing(Keys(keys), Now)!.Id);

    [Theory]
    [InlineData("a:1s", "a")]
    [InlineData("a:40d b:1m", "a b")] // b does not sign yet
    [InlineData("a:40d b:1444m", "a b")] // b has signed for 24 h less a minute: a's last links still work
    [InlineData("a:40d b:1445m", "b")] // b has signed for as long as a link lives
    [InlineData("a:70d b:40d c:1d", "b c")]
    [InlineData("a:40d", "a")] // the newest is never let go
    public void A_key_is_let_go_once_its_successor_has_signed_for_longer_than_a_link_lives(string keys, string kept) =>
        Assert.Equal(kept, string.Join(' ', ActionLinkKeys.Kept(Keys(keys), Now, Lifetime).Select(k => k.Id)));

    [Fact]
    public void A_signed_token_verifies_with_its_key_only_and_any_change_breaks_it()
    {
        var (id, secret) = ActionLinkKeys.New();
        var payload = ActionLink.Payload("incident:abc", ActionLink.Acknowledge, Now.AddDays(1), "0123456789abcdef01234567", "dee");
        var token = ActionLink.Sign(id, secret, payload);

        Assert.True(ActionLink.IsSigned(token));
        Assert.Equal(id, ActionLink.KeyIdOf(token));
        Assert.Equal(payload, ActionLink.Verify(token, secret));
        Assert.Equal(token, ActionLink.Sign(id, secret, payload)); // deterministic
        Assert.Null(ActionLink.Verify(token, ActionLinkKeys.New().Secret));
        for (var i = 0; i < token.Length; i++)
        {
            var changed = token[..i] + (token[i] == 'A' ? 'B' : 'A') + token[(i + 1)..];
            Assert.True(ActionLink.Verify(changed, secret) is null || changed == token, $"a change at {i} still verified");
        }
        Assert.Null(ActionLink.Verify(token + ".x", secret));
        Assert.Null(ActionLink.KeyIdOf("2.NOTHEX.x.y"));
    }
}

/// <summary>The keys grain: asking makes the first key, sealed, and keeps it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ActionLinkKeysGrainTests(ClusterFixture cluster)
{
    [Fact]
    public async Task The_first_ask_makes_one_sealed_key_that_signs_at_once_and_outlives_its_activation()
    {
        var grain = cluster.Grains.GetGrain<IActionLinkKeysGrain>($"test-{Guid.NewGuid():N}");
        var set = await grain.GetIfChangedAsync(0);
        var key = Assert.Single(set!.Keys);
        Assert.Equal(key, ActionLinkKeys.Signing(set.Keys, cluster.Time.GetUtcNow()));
        Assert.Null(await grain.GetIfChangedAsync(set.Version));

        // Sealed by the silo's key ring: the stored text is not the secret, and opens to 32 bytes.
        var protector = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IDataProtectionProvider>().CreateProtector(ActionLinkKeys.SealPurpose);
        Assert.Equal(32, protector.Unprotect(Convert.FromBase64String(key.Sealed)).Length);

        await grain.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Equal(set.Keys, (await grain.GetIfChangedAsync(0))!.Keys);
    }
}
