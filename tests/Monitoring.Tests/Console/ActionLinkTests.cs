using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using System.Text.RegularExpressions;
using Monitoring.Security;
using Monitoring.Tests.Api;
using Monitoring.Tests.Notifications;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Console;

/// <summary>
/// The acknowledge and resolve links in a firing notification: opening one changes nothing, confirming acts once as
/// "… (action link)", and a tampered, reused, expired or outdated link is refused with a page saying which.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed partial class ActionLinkTests(ApiFixture api)
{
    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex FormToken();

    private async Task<(string Ack, string Resolve, ApiScenario Scenario)> FiringAsync()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"hook-{s.Id}", "hook");
        await s.ServerAndRuleAsync($$""" "channels":["hook-{{s.Id}}"],"autoResolve":false""");
        await s.FireAsync();
        var hook = (await s.WaitForHooksAsync("hook", 1)).Single();
        var actions = hook.Body.GetProperty("actions");
        var ack = new Uri(actions.GetProperty("acknowledge").GetString()!);
        var resolve = new Uri(actions.GetProperty("resolve").GetString()!);
        // Links go to Notifications:ExternalUrl (its default here), then the token.
        Assert.Equal("http://127.0.0.1:5080", ack.GetLeftPart(UriPartial.Authority));
        Assert.StartsWith("/actions/", ack.AbsolutePath);
        return (ack.AbsolutePath, resolve.AbsolutePath, s);
    }

    private async Task<(HttpStatusCode Status, string Html)> GetAsync(string path)
    {
        using var response = await api.Http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Opens the page (as a person would), then presses its confirm button.</summary>
    private async Task<(HttpStatusCode Status, string Html)> ConfirmAsync(string path, string name)
    {
        var (_, page) = await GetAsync(path);
        var token = FormToken().Match(page);
        Assert.True(token.Success, page);
        using var response = await api.Http.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__csrf"] = WebUtility.HtmlDecode(token.Groups[1].Value), ["name"] = name,
        }));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Opening_changes_nothing_confirming_acknowledges_once_and_tampered_or_used_links_are_refused()
    {
        var (ack, resolve, s) = await FiringAsync();

        var (status, html) = await GetAsync(ack);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Opening this page changed nothing", html);
        Assert.Contains("High error rate on " + s.ServerId, html);
        Assert.Equal("firing", await s.StatusAsync());

        // A post without the page's form token (a forged form) is refused, and nothing changes.
        using (var forged = await api.Http.PostAsync(ack, new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "mallory" })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }
        Assert.Equal("firing", await s.StatusAsync());

        // A token changed by one character does not verify with the cluster's key.
        var tampered = ack[..^3] + (ack[^3] == 'A' ? 'B' : 'A') + ack[^2..];
        (status, html) = await GetAsync(tampered);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("This link is not valid", html);

        (status, html) = await ConfirmAsync(ack, "Alice");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Acknowledged", html);
        var alert = await s.AlertAsync();
        Assert.Equal("acknowledged", alert.GetProperty("status").GetString());
        Assert.Equal("Alice (action link)", alert.GetProperty("acknowledgedBy").GetString());

        // Used: the same link now says so, on GET and on POST.
        (status, html) = await GetAsync(ack);
        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.Contains("already used", html);
        Assert.Contains("Alice (action link)", html);

        // The resolve link of the same message still works once; after that the alert has resolved and every link is spent.
        (status, _) = await ConfirmAsync(resolve, "");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("resolved", await s.StatusAsync());
        (status, html) = await GetAsync(resolve);
        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.Contains("has resolved", html);
    }

    [Fact]
    public async Task Two_people_paged_through_one_channel_each_get_their_page_and_each_link_acts_as_its_recipient()
    {
        var s = new ApiScenario(api);
        await s.WebhookChannelAsync($"team-{s.Id}", "team");
        foreach (var name in new[] { "dee", "eli" })
        {
            var user = await s.Http.PostJsonAsync("/api/users", $$"""{"id":"{{name}}-{{s.Id}}","contactMethods":[{"id":"hook","type":"webhook","channel":"team-{{s.Id}}"}]}""");
            Assert.True(user.StatusCode == HttpStatusCode.Created, await user.Content.ReadAsStringAsync());
        }
        var policy = await s.Http.PostJsonAsync("/api/escalation-policies", $$"""{"id":"both-{{s.Id}}","levels":[{"delay":"0s","users":["dee-{{s.Id}}","eli-{{s.Id}}"]}]}""");
        Assert.True(policy.StatusCode == HttpStatusCode.Created, await policy.Content.ReadAsStringAsync());
        await s.ServerAndRuleAsync($$""" "channels":[],"escalationPolicy":"both-{{s.Id}}","autoResolve":false""");
        await s.FireAsync();

        // One channel, two people: two messages, each numbered on its own (the channel drops a repeated message).
        var hooks = await s.WaitForHooksAsync("team", 2);
        Assert.Equal([$"dee-{s.Id}", $"eli-{s.Id}"], hooks.Select(h => h.Body.GetProperty("recipient").GetProperty("user").GetString()).Order());
        Assert.Equal(2, hooks.Select(h => h.Body.GetProperty("context").GetProperty("idempotency_key").GetString()).Distinct().Count());

        // Eli's link acts as Eli, whatever name is typed; the page says so and asks for none.
        var eli = hooks.Single(h => h.Body.GetProperty("recipient").GetProperty("user").GetString() == $"eli-{s.Id}");
        var ack = new Uri(eli.Body.GetProperty("actions").GetProperty("acknowledge").GetString()!).AbsolutePath;
        var (status, html) = await GetAsync(ack);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"You act as <strong>eli-{s.Id}</strong>", html);
        Assert.DoesNotContain("name=\"name\"", html);
        (status, _) = await ConfirmAsync(ack, "mallory");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"eli-{s.Id} (action link)", (await s.AlertAsync()).GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task A_link_past_its_lifetime_is_refused_and_changes_nothing()
    {
        var (ack, _, s) = await FiringAsync();
        // The same link, signed the way the silos sign it, whose lifetime ended a minute ago (moving this shared
        // fixture's clock a day ahead would disturb the other tests).
        var (target, action, expires, nonce) = await ReadAsync(ack);
        Assert.Equal(s.AlertId, target);
        Assert.InRange(expires - api.Time.GetUtcNow(), TimeSpan.FromHours(23.9), TimeSpan.FromHours(24)); // Notifications:ActionLinkLifetime
        var (keyId, secret) = (await api.Services.GetRequiredService<ActionLinkKeyRing>().SigningAsync())!.Value;
        var expired = ActionLink.Path + ActionLink.Sign(keyId, secret, ActionLink.Payload(target, action, api.Time.GetUtcNow().AddMinutes(-1), nonce));
        var (status, html) = await GetAsync(expired);
        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.Contains("This link expired", html);
        Assert.DoesNotContain("__csrf", html); // no confirm form to press
        Assert.Equal("firing", await s.StatusAsync());
    }

    /// <summary>
    /// The signature covers the key id and the payload: a payload changed under its signature (another alert, a later
    /// expiry), a key the cluster does not keep, or a key of the same id from another installation are refused alike,
    /// and change nothing. A link sealed the earlier way (by the key ring, before links were signed) still opens.
    /// </summary>
    [Fact]
    public async Task A_changed_payload_or_a_foreign_key_is_refused_and_a_link_sealed_before_signing_still_opens()
    {
        var (ack, _, s) = await FiringAsync();
        var (target, action, expires, nonce) = await ReadAsync(ack);
        var token = ack[ActionLink.Path.Length..];
        var parts = token.Split('.');
        var (keyId, secret) = (await api.Services.GetRequiredService<ActionLinkKeyRing>().SigningAsync())!.Value;
        Assert.Equal(keyId, parts[1]);

        string Payload(string payload) => System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload));
        var (other, _, _) = await FiringAsync();
        var refused = new[]
        {
            // Another alert's id, and a later expiry, under this link's signature.
            string.Join('.', parts[0], parts[1], Payload(ActionLink.Payload((await ReadAsync(other)).Target, action, expires, nonce)), parts[3]),
            string.Join('.', parts[0], parts[1], Payload(ActionLink.Payload(target, action, expires.AddDays(30), nonce)), parts[3]),
            // A key id the cluster does not keep, and this key's id with another secret.
            ActionLink.Sign(ActionLinkKeys.New().Id, secret, ActionLink.Payload(target, action, expires, nonce)),
            ActionLink.Sign(keyId, ActionLinkKeys.New().Secret, ActionLink.Payload(target, action, expires, nonce)),
            // Cut short, and not base64url.
            token[..^5],
            string.Join('.', parts[0], parts[1], "%%%", parts[3]),
        };
        foreach (var link in refused)
        {
            var (status, html) = await GetAsync(ActionLink.Path + link);
            Assert.True(status == HttpStatusCode.BadRequest, $"{link}: {status}");
            Assert.Contains("This link is not valid", html);
        }
        Assert.Equal("firing", await s.StatusAsync());

        var sealedBefore = api.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(ActionLink.Purpose)
            .Protect(ActionLink.Payload(target, action, expires, nonce + "0"));
        Assert.DoesNotContain('.', sealedBefore);
        var (opened, page) = await GetAsync(ActionLink.Path + sealedBefore);
        Assert.Equal(HttpStatusCode.OK, opened);
        Assert.Contains("Opening this page changed nothing", page);
        Assert.Equal(HttpStatusCode.OK, (await ConfirmAsync(ActionLink.Path + sealedBefore, "Old Mail")).Status);
        Assert.Equal("Old Mail (action link)", (await s.AlertAsync()).GetProperty("acknowledgedBy").GetString());
    }

    /// <summary>What a link the silos signed says, verified with the cluster's key as the API verifies it.</summary>
    private async Task<(string Target, string Action, DateTimeOffset Expires, string Nonce)> ReadAsync(string path)
    {
        var token = path[ActionLink.Path.Length..];
        var secret = await api.Services.GetRequiredService<ActionLinkKeyRing>().FindAsync(ActionLink.KeyIdOf(token)!);
        Assert.True(ActionLink.TryParse(ActionLink.Verify(token, secret!)!, out var target, out var action, out var expires, out var nonce, out _));
        return (target, action, expires, nonce);
    }
}
