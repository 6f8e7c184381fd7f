using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Monitoring.Common;

namespace Monitoring.Channels.Email;

public enum SmtpSecurity
{
    None,
    StartTls,
    Ssl,
}

/// <summary>
/// Config of an email channel. The password is write-only. <see cref="CaCertificate"/> (PEM) lets a channel trust a
/// private CA or a self-signed server certificate without turning verification off.
/// </summary>
public sealed record EmailConfig(
    string Host, int Port, SmtpSecurity Security, string? Username, string? Password, MailboxAddress From, MailboxAddress[] To,
    X509Certificate2? CaCertificate, TimeSpan Timeout);

/// <summary>Sends multipart (text and HTML) mail through SMTP with MailKit: STARTTLS, implicit TLS or none, with optional login.</summary>
public sealed class EmailSender(Outbound.OutboundGuard guard) : IChannelSender
{
    public string Type => "email";
    public IReadOnlyList<string> SecretFields { get; } = ["password"];
    public IReadOnlyList<string> Fields { get; } = ["host", "port", "security", "username", "password", "from", "to", "timeoutSeconds", "caCertificate"];
    public IReadOnlyList<string> AddressFields { get; } = ["host"];

    public IReadOnlyList<FieldError> Validate(JsonElement config)
    {
        var errors = new List<FieldError>();
        Read(config, errors)?.CaCertificate?.Dispose();
        return errors;
    }

    public IPreparedChannel Prepare(string channelId, JsonElement config) =>
        new Prepared(Read(config, []) ?? throw new InvalidOperationException($"channel {channelId} has an invalid email config"), guard);

    private static EmailConfig? Read(JsonElement config, List<FieldError> errors)
    {
        var reader = new ConfigReader(config, errors);
        var host = reader.String("host", required: true, hint: "the SMTP server's name or address", maxLength: 253);
        var port = reader.Number("port", 1, 65535, "a TCP port");
        var security = reader.OneOf("security", SmtpSecurity.StartTls,
            ("none", SmtpSecurity.None), ("starttls", SmtpSecurity.StartTls), ("ssl", SmtpSecurity.Ssl));
        var username = reader.String("username", maxLength: 256);
        var password = reader.String("password", maxLength: 1024);
        if (reader.Has("username") != reader.Has("password"))
        {
            reader.Fail(reader.Has("username") ? "password" : "username", "is required when the other half of the login is given");
        }
        var from = Address(reader, "from", reader.String("from", required: true, hint: "the sender's address"));
        var to = reader.Strings("to", required: true, hint: "a list of recipient addresses", maxCount: 100)?
            .Select((text, i) => Address(reader, $"to[{i}]", text)).ToArray();
        var timeout = reader.Number("timeoutSeconds", 0.1, 25, "seconds") ?? 20;
        X509Certificate2? ca = null;
        if (reader.String("caCertificate", maxLength: 16384) is { } pem)
        {
            try
            {
                ca = X509Certificate2.CreateFromPem(pem);
            }
            catch (CryptographicException)
            {
                reader.Fail("caCertificate", "is not a PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
        }
        if (errors.Count > 0 || host is null || from is null || to is null || to.Any(a => a is null))
        {
            ca?.Dispose();
            return null;
        }
        var defaultPort = security switch { SmtpSecurity.Ssl => 465, SmtpSecurity.StartTls => 587, _ => 25 };
        return new EmailConfig(host, (int)(port ?? defaultPort), security, username, password, from, to!, ca, TimeSpan.FromSeconds(timeout));
    }

    private static MailboxAddress? Address(ConfigReader reader, string field, string? text)
    {
        if (text is null) return null;
        if (MailboxAddress.TryParse(text, out var address) && address.Address.Contains('@')) return address;
        reader.Fail(field, $"'{text}' is not an email address");
        return null;
    }

    /// <summary>The mail itself: subject, text and HTML parts, and ids that let mail clients thread an alert's messages.</summary>
    public static MimeMessage Compose(EmailConfig config, OutgoingMessage message)
    {
        var n = message.Notification;
        var mail = new MimeMessage { Subject = message.Rendered.Subject, Date = n.At };
        mail.From.Add(config.From);
        // A person's page goes to that person's address; the channel's own list hears the channel's messages.
        if (n.Recipient is { Address: { } address }) mail.To.Add(MailboxAddress.Parse(address));
        else mail.To.AddRange(config.To);
        // The same key gives the same Message-Id, so a retried mail is recognisably the same mail.
        mail.MessageId = $"{Hash(n.IdempotencyKey)}@mcp-alerting";
        // Replies thread under the episode's root; an incident's messages (its updates are firing messages) all do.
        if (n.Kind is not (NotificationKind.Firing or NotificationKind.Test) || n.Group is not null && n.Kind != NotificationKind.Test)
        {
            var root = $"{Hash(n.ThreadKey)}@mcp-alerting";
            mail.InReplyTo = root;
            mail.References.Add(root);
        }
        mail.Headers.Add("X-Idempotency-Key", n.IdempotencyKey);
        mail.Headers.Add("X-Mcp-Alert-Id", n.AlertId);
        var body = new BodyBuilder { TextBody = message.Rendered.Body, HtmlBody = EmailHtml.Render(message) };
        mail.Body = body.ToMessageBody();
        return mail;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    private sealed class Prepared(EmailConfig config, Outbound.OutboundGuard guard) : IPreparedChannel
    {
        public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(config.Timeout);
            using var client = new SmtpClient();
            if (config.CaCertificate is { } ca)
            {
                client.ServerCertificateValidationCallback = (_, certificate, _, errors) => TrustedBy(ca, certificate, errors);
            }
            try
            {
                var options = config.Security switch
                {
                    SmtpSecurity.Ssl => SecureSocketOptions.SslOnConnect,
                    SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                    _ => SecureSocketOptions.None,
                };
                // The guard resolves and checks the address; MailKit then speaks SMTP (and TLS, by host name) over it.
                var socket = await guard.ConnectAsync(config.Host, config.Port, timeout.Token);
                await client.ConnectAsync(socket, config.Host, config.Port, options, timeout.Token);
                if (config.Username is { } username)
                {
                    await client.AuthenticateAsync(username, config.Password ?? "", timeout.Token);
                }
                await client.SendAsync(Compose(config, message), timeout.Token);
                await client.DisconnectAsync(quit: true, timeout.Token);
                return SendResult.Success();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return SendResult.Failure($"no answer from {config.Host}:{config.Port} within {config.Timeout.TotalSeconds:0.#}s");
            }
            catch (Outbound.OutboundBlockedException e)
            {
                return SendResult.Failure(e.Message, retryable: false);
            }
            catch (AuthenticationException)
            {
                return SendResult.Failure($"{config.Host}:{config.Port} refused the login", retryable: false);
            }
            catch (SmtpCommandException e)
            {
                // 4xx replies are transient by SMTP's own definition; 5xx are not.
                return SendResult.Failure($"SMTP {(int)e.StatusCode}: {e.Message}", retryable: (int)e.StatusCode < 500);
            }
            catch (SslHandshakeException)
            {
                return SendResult.Failure($"TLS with {config.Host}:{config.Port} failed: the certificate is not trusted or TLS is not offered", retryable: false);
            }
            catch (NotSupportedException e)
            {
                return SendResult.Failure($"{config.Host}:{config.Port}: {e.Message}", retryable: false);
            }
            catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException)
            {
                return SendResult.Failure($"{config.Host}:{config.Port}: {e.Message}");
            }
        }

        private static bool TrustedBy(X509Certificate2 ca, System.Security.Cryptography.X509Certificates.X509Certificate? presented, SslPolicyErrors errors)
        {
            if (errors == SslPolicyErrors.None) return true;
            if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) return false;
            using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        }
    }
}
