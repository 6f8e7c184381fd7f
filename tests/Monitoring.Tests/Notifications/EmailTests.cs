using System.Net;
using MimeKit;
using Monitoring.Tests.Api;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Notifications;

/// <summary>Email through MailKit to a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS with login, implicit TLS.</summary>
[Collection(ApiCollection.Name)]
public sealed class EmailTests(ApiFixture api)
{
    [Fact]
    public async Task The_exact_request_delivers_multipart_mail_for_firing_and_resolved()
    {
        await using var smtp = await SmtpSink.StartAsync();
        var s = new ApiScenario(api);
        var response = await s.Http.PostJsonAsync("/api/channels",
            $$"""{"id":"mail-{{s.Id}}","type":"email","config":{"host":"127.0.0.1","port":{{smtp.Port}},"security":"none","from":"alerts@example.com","to":["oncall@example.com"]} }""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await s.ServerAndRuleAsync($$""" "channels":["mail-{{s.Id}}"]""");

        await s.FireAsync();
        var mail = (await smtp.WaitForAsync(1)).Single();
        Assert.Equal("[CRITICAL] High error rate on Search", mail.Subject);
        Assert.Equal("alerts@example.com", mail.From.Mailboxes.Single().Address);
        Assert.Equal("oncall@example.com", mail.To.Mailboxes.Single().Address);
        Assert.Equal("no", mail.Headers["X-Sink-Tls"]);
        Assert.Equal($"{s.AlertId}/1/firing/3", mail.Headers["X-Idempotency-Key"]);
        var alternative = Assert.IsType<MultipartAlternative>(mail.Body);
        Assert.Contains("Error rate exceeded 5%", mail.TextBody);
        Assert.Contains($"Server: Search ({s.ServerId})", mail.TextBody);
        Assert.Contains("background-color: #dc3545", mail.HtmlBody);
        Assert.Contains("Error rate exceeded 5%", mail.HtmlBody);
        Assert.Equal(2, alternative.Count);
        // Acknowledge and resolve links: buttons in the HTML, lines in the text; both open a confirmation page.
        var ack = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"Acknowledge: (http://127\.0\.0\.1:5080/actions/\S+)");
        Assert.True(ack.Success, mail.TextBody);
        Assert.Contains($"href=\"{ack.Groups[1].Value}\"", mail.HtmlBody);
        Assert.Matches(@"Resolve: http://127\.0\.0\.1:5080/actions/\S+", mail.TextBody);
        Assert.Contains("Opening this page changed nothing", await s.Http.GetStringAsync(new Uri(ack.Groups[1].Value).AbsolutePath));

        await s.ClearAsync();
        var resolved = (await smtp.WaitForAsync(2)).Single(m => m.Subject?.Contains("RESOLVED") == true);
        Assert.Equal("[CRITICAL] RESOLVED: High error rate on Search", resolved.Subject);
        Assert.Contains("#28a745", resolved.HtmlBody);
        Assert.DoesNotContain("/actions/", resolved.HtmlBody); // nothing left to act on
        // Threaded under the episode, so mail clients group firing and resolution.
        Assert.False(string.IsNullOrEmpty(resolved.InReplyTo));
        // The channel reports the delivery once the server has answered, a moment after the sink has the message.
        await Eventually.TrueAsync(async () => (await s.NotificationsAsync()).First().GetProperty("status").GetString() == "delivered",
            "the resolved notification to be recorded as delivered");
    }

    [Fact]
    public async Task Starttls_with_a_login_and_a_private_ca()
    {
        using var certificates = TestCertificates.Create();
        await using var smtp = await SmtpSink.StartAsync(SmtpSinkMode.StartTls, certificates, "alice", "mail-pass-42");
        var s = new ApiScenario(api);
        var ca = System.Text.Json.JsonSerializer.Serialize(certificates.CaPem);
        await s.ChannelAsync($"mail-{s.Id}", "email",
            $$"""{"host":"127.0.0.1","port":{{smtp.Port}},"security":"starttls","username":"alice","password":"mail-pass-42","from":"alerts@example.com","to":["oncall@example.com","lead@example.com"],"caCertificate":{{ca}} }""");

        var test = await (await s.Http.PostAsync($"/api/channels/mail-{s.Id}/test", null)).JsonAsync();
        Assert.True(test.GetProperty("delivered").GetBoolean(), test.ToString());
        var mail = (await smtp.WaitForAsync(1)).Single();
        Assert.Equal("yes", mail.Headers["X-Sink-Tls"]);
        Assert.Equal("alice", mail.Headers["X-Sink-Auth-User"]);
        Assert.Equal("oncall@example.com, lead@example.com", mail.Headers["X-Sink-Rcpt-To"]);
        Assert.StartsWith("[INFO]", mail.Subject);

        // The password is write-only: never shown, kept by an update that leaves it out, never logged.
        var view = await (await s.Http.GetAsync($"/api/channels/mail-{s.Id}")).JsonAsync();
        Assert.Equal("<redacted>", view.GetProperty("config").GetProperty("password").GetString());
        var update = await s.Http.PutJsonAsync($"/api/channels/mail-{s.Id}",
            $$"""{"type":"email","config":{"host":"127.0.0.1","port":{{smtp.Port}},"security":"starttls","username":"alice","from":"alerts@example.com","to":["oncall@example.com"],"caCertificate":{{ca}} } }""");
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.True((await (await s.Http.PostAsync($"/api/channels/mail-{s.Id}/test", null)).JsonAsync()).GetProperty("delivered").GetBoolean());
        await smtp.WaitForAsync(2);
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains("mail-pass-42"));
    }

    [Fact]
    public async Task A_wrong_password_and_an_untrusted_certificate_fail_with_clear_errors()
    {
        using var certificates = TestCertificates.Create();
        await using var smtp = await SmtpSink.StartAsync(SmtpSinkMode.StartTls, certificates, "alice", "right");
        var s = new ApiScenario(api);
        var ca = System.Text.Json.JsonSerializer.Serialize(certificates.CaPem);
        await s.ChannelAsync($"wrong-{s.Id}", "email",
            $$"""{"host":"127.0.0.1","port":{{smtp.Port}},"security":"starttls","username":"alice","password":"wrong","from":"a@example.com","to":["b@example.com"],"caCertificate":{{ca}} }""");
        await s.ChannelAsync($"untrusted-{s.Id}", "email",
            $$"""{"host":"127.0.0.1","port":{{smtp.Port}},"security":"starttls","username":"alice","password":"right","from":"a@example.com","to":["b@example.com"]}""");

        var wrong = await (await s.Http.PostAsync($"/api/channels/wrong-{s.Id}/test", null)).JsonAsync();
        Assert.False(wrong.GetProperty("delivered").GetBoolean());
        Assert.Contains("refused the login", wrong.GetProperty("error").GetString());
        var untrusted = await (await s.Http.PostAsync($"/api/channels/untrusted-{s.Id}/test", null)).JsonAsync();
        Assert.False(untrusted.GetProperty("delivered").GetBoolean());
        Assert.Contains("TLS", untrusted.GetProperty("error").GetString());
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task Implicit_tls()
    {
        using var certificates = TestCertificates.Create();
        await using var smtp = await SmtpSink.StartAsync(SmtpSinkMode.Ssl, certificates);
        var s = new ApiScenario(api);
        var ca = System.Text.Json.JsonSerializer.Serialize(certificates.CaPem);
        await s.ChannelAsync($"ssl-{s.Id}", "email",
            $$"""{"host":"127.0.0.1","port":{{smtp.Port}},"security":"ssl","from":"alerts@example.com","to":["oncall@example.com"],"caCertificate":{{ca}} }""");

        var test = await (await s.Http.PostAsync($"/api/channels/ssl-{s.Id}/test", null)).JsonAsync();
        Assert.True(test.GetProperty("delivered").GetBoolean(), test.ToString());
        Assert.Equal("yes", (await smtp.WaitForAsync(1)).Single().Headers["X-Sink-Tls"]);
    }
}
