using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MimeKit;

namespace Monitoring.Tests.Support;

public enum SmtpSinkMode
{
    Plain,
    StartTls,
    Ssl,
}

/// <summary>
/// A real SMTP server on 127.0.0.1: Debian's aiosmtpd (python3-aiosmtpd, run by /usr/bin/python3 or $SMTP_SINK_PYTHON)
/// started by the test, writing each message it accepts to a directory, where the test reads it back with MimeKit.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly Process _process;

    private SmtpSink(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        MailDirectory = directory;
    }

    public int Port { get; }

    public string MailDirectory { get; }

    public static async Task<SmtpSink> StartAsync(SmtpSinkMode mode = SmtpSinkMode.Plain, TestCertificates? certificates = null, string? user = null, string? password = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mcp-alerting-mail-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var python = Environment.GetEnvironmentVariable("SMTP_SINK_PYTHON") ?? "/usr/bin/python3";
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Support", "smtp_sink.py"), "--port", port.ToString(), "--dir", directory, "--mode", mode.ToString().ToLowerInvariant() })
        {
            start.ArgumentList.Add(arg);
        }
        if (certificates is not null)
        {
            start.ArgumentList.Add("--cert");
            start.ArgumentList.Add(certificates.ServerCertificatePath);
            start.ArgumentList.Add("--key");
            start.ArgumentList.Add(certificates.ServerKeyPath);
        }
        if (user is not null)
        {
            start.ArgumentList.Add("--user");
            start.ArgumentList.Add(user);
            start.ArgumentList.Add("--password");
            start.ArgumentList.Add(password ?? "");
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{python} did not start");
        var ready = process.StandardOutput.ReadLineAsync();
        var finished = await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(30)));
        if (finished != ready || await ready != "READY")
        {
            process.Kill(entireProcessTree: true);
            var error = await process.StandardError.ReadToEndAsync();
            throw new InvalidOperationException($"the SMTP sink did not start (is python3-aiosmtpd installed?): {error}");
        }
        return new SmtpSink(process, port, directory);
    }

    public IReadOnlyList<MimeMessage> Messages() =>
        [.. Directory.GetFiles(MailDirectory, "*.eml").Select(path => MimeMessage.Load(path)).OrderBy(m => m.Date)];

    public async Task<IReadOnlyList<MimeMessage>> WaitForAsync(int count)
    {
        await Eventually.TrueAsync(() => Messages().Count >= count, $"{count} mails in the SMTP sink on port {Port}");
        return Messages();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            Directory.Delete(MailDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        await Task.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
