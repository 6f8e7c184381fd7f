using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

/// <summary>Starts the product as a user does (Release, on its own ports) for a benchmark, and finds the repository.</summary>
public static class BenchHost
{
    /// <summary>
    /// Starts the API from its Release build, or, when <c>MONITORING_BENCH_API</c> names a published
    /// <c>Monitoring.Api.dll</c> (the container image's build, <c>dotnet publish</c>), from that.
    /// <c>MONITORING_BENCH_API_ARGS</c> adds settings to its command line.
    /// </summary>
    public static Process StartApi(string url, int siloPort, int gatewayPort, string extraArguments = "")
    {
        var published = Environment.GetEnvironmentVariable("MONITORING_BENCH_API");
        // More of the API's own settings, for a run that turns one part off to see what it costs (docs/benchmarks.md).
        extraArguments += " " + Environment.GetEnvironmentVariable("MONITORING_BENCH_API_ARGS");
        var start = published is { Length: > 0 } ? $"{published}" : $"run -c Release --project {Path.Combine(RepoRoot(), "src", "Api")} --";
        var info = new ProcessStartInfo("dotnet",
            $"{start} --urls {url} --Orleans:SiloPort={siloPort} --Orleans:GatewayPort={gatewayPort} --Logging:LogLevel:Default=Warning {extraArguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // MONITORING_BENCH_API_ENV ("NAME=value;NAME=value") sets the API's environment only: runtime settings such as
        // the GC's, which the runtime reads only from the environment, without changing the benchmark's own process.
        foreach (var pair in (Environment.GetEnvironmentVariable("MONITORING_BENCH_API_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            info.Environment[name] = value;
            Console.WriteLine($"(the API's environment: {name}={value})");
        }
        var api = Process.Start(info)!;
        api.OutputDataReceived += (_, _) => { };
        api.ErrorDataReceived += (_, _) => { };
        api.BeginOutputReadLine();
        api.BeginErrorReadLine();
        return api;
    }

    /// <summary>
    /// A webhook receiver on loopback: every POST's path (without the leading slash), body and arrival timestamp go to
    /// <paramref name="received"/>. Answers the receiver, to stop, and its base URL (no trailing slash).
    /// </summary>
    public static async Task<(WebApplication Receiver, string BaseUrl)> StartReceiverAsync(Action<string, string, long> received)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = builder.Build();
        receiver.MapPost("/{**path}", async (HttpContext context, string path) =>
        {
            var now = Stopwatch.GetTimestamp();
            received(path, await new StreamReader(context.Request.Body).ReadToEndAsync(), now);
            return Results.Ok();
        });
        await receiver.StartAsync();
        return (receiver, receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>
    /// A webhook receiver that stamps when each alert's firing message arrived (the product's native webhook payload),
    /// keyed by alert id. Answers the receiver, to stop, and the URL to give a webhook channel.
    /// </summary>
    public static async Task<(WebApplication Receiver, string HookUrl)> StartFiringReceiverAsync(ConcurrentDictionary<string, long> arrivals)
    {
        var (receiver, baseUrl) = await StartReceiverAsync((_, raw, at) =>
        {
            using var body = JsonDocument.Parse(raw);
            var alert = body.RootElement.GetProperty("alert");
            if (alert.GetProperty("status").GetString() == "firing") arrivals.TryAdd(alert.GetProperty("id").GetString()!, at);
        });
        return (receiver, baseUrl + "/hook");
    }

    /// <summary>POSTs JSON and throws with the product's answer unless it succeeded: setting up a benchmark must not fail quietly.</summary>
    public static async Task PostAsync(HttpClient http, string url, object body)
    {
        using var response = await http.PostAsJsonAsync(url, body);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static async Task WaitForHealthAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            try { if ((await http.GetAsync("/health")).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException("the API did not come up");
    }

    /// <summary>The product's own process: `dotnet run` starts it as a child.</summary>
    public static int ApiPid(Process run)
    {
        var children = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => int.TryParse(p, out _)).Select(p => int.Parse(p!))
            .Where(pid => { try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains("Monitoring.Api") && pid != run.Id; } catch (IOException) { return false; } });
        return children.DefaultIfEmpty(run.Id).Max();
    }

    /// <summary>
    /// A healthy telemetry batch whose 200 requests are spread over the 285 s before <paramref name="now"/>, at latencies
    /// from 10 to 408 ms: it gives every 15 s bucket and every one-minute latency slice of a 5-minute window data, so a
    /// server's window is as large as it gets.
    /// </summary>
    public static object FullWindow(DateTimeOffset now) => new
    {
        requests = Enumerable.Range(0, 200).Select(r => new
        {
            method = "tools/call", tool = "search", durationMs = 10 + r * 2, success = true, timestamp = now.AddSeconds(-285 + r * 285 / 200.0),
        }),
    };

    /// <summary>
    /// A breaching push of <paramref name="requests"/> failed tool calls, a new body for each request: one HttpContent
    /// sent by many requests at once is not safe (its headers are read without a lock; seen failing in a storm).
    /// </summary>
    public static Func<HttpContent> Breach(int requests)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new { requests = Enumerable.Range(0, requests).Select(_ => new { method = "tools/call", tool = "search", durationMs = 40, success = false }) });
        return () => new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } };
    }

    /// <summary>Resident memory of a process, from /proc (0 when it is gone).</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>CPU seconds (user and system) a process has used so far, from /proc.</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0; // utime, stime in clock ticks (100 a second)
    }

    /// <summary>
    /// CPU seconds used so far by every process of that name, with the children they have reaped: for PostgreSQL, the
    /// postmaster and its live backends, plus the backends that have exited.
    /// </summary>
    public static double CpuSecondsOfAll(string name)
    {
        var total = 0.0;
        foreach (var directory in Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var open = stat.IndexOf('(');
                if (open < 0 || stat[(open + 1)..stat.LastIndexOf(')')] != name) continue;
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14])) / 100.0;
            }
            catch (IOException)
            {
                // gone while read
            }
        }
        return total;
    }

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Monitoring.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("run from inside the repository");
    }
}
