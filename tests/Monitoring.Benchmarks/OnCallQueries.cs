using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Monitoring.Tests.Support;

/// <summary>
/// Who is on call, at fleet size: 1,000 schedules (two layers, one restricted to weekdays, and overrides), each asked
/// for who is on call at random moments of the next 6 months, for its 6 months of shifts, and all of them at once
/// (<c>/api/oncall</c>); p50 and p99 of each, on the embedded process.
/// </summary>
public static class OnCallQueries
{
    public static async Task RunAsync(string[] args)
    {
        var schedules = args.SkipWhile(a => a != "--schedules").Skip(1).Select(int.Parse).DefaultIfEmpty(1000).First();
        var asks = args.SkipWhile(a => a != "--asks").Skip(1).Select(int.Parse).DefaultIfEmpty(2000).First();
        Console.WriteLine($"{Environment.ProcessorCount} cores; the embedded process; {schedules} schedules of 2 layers and 12 overrides each, 200 users");
        await using var api = await EmbeddedApiProcess.StartAsync();
        var http = api.Http;
        async Task Post(string url, string body)
        {
            using var response = await http.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Post("/api/channels", """{"id":"hook","type":"webhook","config":{"url":"http://127.0.0.1:9/hook"}}""");
        for (var u = 0; u < 200; u++) await Post("/api/users", $$"""{"id":"u{{u}}","contactMethods":[{"id":"hook","type":"webhook","channel":"hook"}]}""");
        var now = DateTimeOffset.UtcNow;
        var start = now.UtcDateTime.Date.AddDays(-30).ToString("yyyy-MM-dd'T'HH:mm");
        var setup = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, schedules), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var users = Enumerable.Range(0, 5).Select(k => $"\"u{(i + k * 7) % 200}\"");
            var overrides = Enumerable.Range(0, 12).Select(k =>
                $$"""{"user":"u{{(i + k) % 200}}","start":"{{now.AddDays(k * 14 + 1):yyyy-MM-dd'T'HH:00:00'Z'}}","end":"{{now.AddDays(k * 14 + 1).AddHours(6):yyyy-MM-dd'T'HH:00:00'Z'}}"}""");
            await Post("/api/schedules", $$"""
                {"id":"s{{i}}","timeZone":"{{(i % 2 == 0 ? "Europe/Berlin" : "America/New_York")}}","layers":[
                 {"name":"weekly","users":[{{string.Join(',', users)}}],"start":"{{start}}","shift":"1w"},
                 {"name":"office","users":["u{{i % 200}}","u{{(i + 1) % 200}}"],"start":"{{start}}","shift":"1d","restrictions":[{"days":["mon","tue","wed","thu","fri"],"from":"09:00","to":"17:00"}]}],
                 "overrides":[{{string.Join(',', overrides)}}]}
                """);
        });
        Console.WriteLine($"setup: {schedules} schedules in {setup.Elapsed.TotalSeconds:F1} s");
        var random = new Random(7);

        await MeasureAsync("who is on call (one schedule, a random moment of the next 6 months)", asks, () =>
            http.GetAsync($"/api/schedules/s{random.Next(schedules)}/oncall?at={Uri.EscapeDataString(now.AddMinutes(random.Next(183 * 24 * 60)).ToString("O"))}"));
        await MeasureAsync("shifts (one schedule, 6 months)", asks / 4, () =>
            http.GetAsync($"/api/schedules/s{random.Next(schedules)}/shifts?from={Uri.EscapeDataString(now.ToString("O"))}&to={Uri.EscapeDataString(now.AddDays(183).ToString("O"))}"));
        await MeasureAsync($"everyone on call now (/api/oncall, {schedules} schedules)", 20, () => http.GetAsync("/api/oncall"));
        Console.WriteLine($"API process CPU: {BenchHost.CpuSeconds(api.Process.Process.Id):F1} s");
    }

    private static async Task MeasureAsync(string what, int count, Func<Task<HttpResponseMessage>> ask)
    {
        for (var i = 0; i < Math.Min(50, count); i++) (await ask()).Dispose(); // warm up
        var times = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await ask();
            await response.Content.ReadAsByteArrayAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode}");
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        double At(double q) => times[Math.Min(times.Count - 1, (int)(q * times.Count))];
        Console.WriteLine($"{what}: {count} asks, p50 {At(0.5):F1} ms, p99 {At(0.99):F1} ms, max {times[^1]:F1} ms");
    }
}
