using Monitoring.Servers;
using Monitoring.Servers.History;

namespace Monitoring.Tests.Slo;

/// <summary>A server's long-range history without a cluster: windows, late data, gaps, retention, tools, storage and its size.</summary>
public sealed class ServerHistoryTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 30, 0, TimeSpan.Zero);

    private static void Requests(ServerHistory h, DateTimeOffset at, int count, int errors, double seconds = 0.05, string? tool = null)
    {
        for (var i = 0; i < count; i++) Assert.True(h.RecordRequest(at, Now, seconds, i >= errors, tool));
    }

    [Fact]
    public void Windows_up_to_an_hour_read_the_minute_ring_exactly_and_longer_ones_read_whole_hours()
    {
        var h = new ServerHistory();
        Requests(h, Now, 3, 1);
        Requests(h, Now.AddMinutes(-4), 2, 0);     // in 5m
        Requests(h, Now.AddMinutes(-5), 7, 7);     // just outside 5m (minutes -4..0 are the five)
        Requests(h, Now.AddMinutes(-59), 11, 0);   // in 1h
        Requests(h, Now.AddMinutes(-61), 13, 0);   // outside 1h, inside 2h
        Requests(h, Now.AddDays(-3).AddHours(-2), 17, 0); // outside 3d

        Assert.Equal((5L, 1L), (h.Totals(TimeSpan.FromMinutes(5), Now).Requests, h.Totals(TimeSpan.FromMinutes(5), Now).Errors));
        Assert.Equal(3 + 2 + 7 + 11, h.Totals(TimeSpan.FromHours(1), Now).Requests);
        Assert.Equal(3 + 2 + 7 + 11 + 13, h.Totals(TimeSpan.FromHours(2), Now).Requests);
        Assert.Equal(3 + 2 + 7 + 11 + 13, h.Totals(TimeSpan.FromDays(3), Now).Requests);
        Assert.Equal(3 + 2 + 7 + 11 + 13 + 17, h.Totals(TimeSpan.FromDays(30), Now).Requests);
        Assert.Equal(8, h.Totals(TimeSpan.FromDays(30), Now).Errors);
    }

    [Fact]
    public void Time_with_no_data_is_not_counted_as_measured_and_late_data_lands_in_its_own_hour()
    {
        var h = new ServerHistory();
        Requests(h, Now, 1, 0);
        // Sent late: an hour ten days back, after newer hours exist; and two minutes of another hour.
        Requests(h, Now.AddDays(-10), 4, 1);
        Requests(h, Now.AddDays(-10).AddMinutes(1), 1, 0);
        Requests(h, Now.AddHours(-5), 2, 2);
        var month = h.Totals(TimeSpan.FromDays(30), Now);
        Assert.Equal(8, month.Requests);
        Assert.Equal(3, month.Errors);
        // Four minutes had data in 30 days: 240 measured seconds, whatever the window's length.
        Assert.Equal(4 * 60, month.MeasuredSeconds);
        Assert.Equal(0, h.Totals(TimeSpan.FromDays(3), Now).Requests - 3);
        Assert.Equal(Now.AddDays(-10).UtcTicks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, h.Since!.Value.UtcTicks);
    }

    [Fact]
    public void Data_older_than_thirty_days_is_refused_and_old_rows_leave_as_time_moves_on()
    {
        var h = new ServerHistory();
        Assert.False(h.RecordRequest(Now.AddDays(-30).AddMinutes(-1), Now, 0.1, true, null));
        Assert.True(h.RecordRequest(Now.AddDays(-29), Now, 0.1, true, null));
        var later = Now.AddDays(2);
        Assert.True(h.RecordRequest(later, later, 0.1, true, null));
        Assert.Equal(1, h.Totals(TimeSpan.FromDays(30), later).Requests);
        var copy = new ServerHistory();
        Assert.True(copy.Import(h.Export(later)));
        Assert.Equal(1, copy.Totals(TimeSpan.FromDays(30), later).Requests);
    }

    [Fact]
    public void Latencies_fall_in_prometheus_default_buckets_and_summed_points_are_never_counted_faster()
    {
        var h = new ServerHistory();
        Requests(h, Now, 1, 0, seconds: 0.1);   // exactly a bound: at most 100ms
        Requests(h, Now, 1, 0, seconds: 0.1001);
        // A sender's buckets (le 0.2, 0.3, +Inf): 0.2 lands at most 250ms, 0.3 at most 500ms, +Inf at its max (4s: at most 5s).
        Assert.True(h.RecordMany(Now, Now, 6, true, 3, [0.2, 0.3], [3, 2, 1], 4, null));
        var t = h.Totals(TimeSpan.FromMinutes(5), Now);
        Assert.Equal(8, t.Requests);
        Assert.Equal(1, t.AtMost(HistoryBuckets.IndexOfBound(0.1)));
        Assert.Equal(5, t.AtMost(HistoryBuckets.IndexOfBound(0.25)));
        Assert.Equal(7, t.AtMost(HistoryBuckets.IndexOfBound(0.5)));
        Assert.Equal(8, t.AtMost(HistoryBuckets.IndexOfBound(5)));
    }

    [Fact]
    public void Probes_count_apart_from_requests()
    {
        var h = new ServerHistory();
        for (var i = 0; i < 10; i++) h.RecordProbe(Now.AddMinutes(-i), Now, ok: i != 3);
        var t = h.Totals(TimeSpan.FromMinutes(30), Now);
        Assert.Equal((0L, 10L, 1L, 600L), (t.Requests, t.Probes, t.ProbeFailures, t.MeasuredSeconds));
    }

    [Fact]
    public void The_busiest_tools_have_a_minute_ring_the_rest_are_summed_and_a_tool_an_objective_asks_about_keeps_hours()
    {
        var h = new ServerHistory();
        for (var tool = 0; tool < ServerHistory.MaxTools + 2; tool++) Requests(h, Now, 1, 0, tool: $"t{tool}");
        var summary = h.Summary(TimeSpan.FromHours(24), Now);
        Assert.Equal(ServerHistory.MaxTools + 1, summary.Tools.Length);
        Assert.Equal(2, summary.Tools.Single(t => t.Tool == ServerHistory.OtherTools).Totals.Requests);
        Assert.Equal(1, h.Totals(TimeSpan.FromHours(1), Now, "t0").Requests);

        // Hours for a tool start when an objective first asks; before that only its minute ring looks back.
        Assert.Equal(0, h.Totals(TimeSpan.FromDays(1), Now, "t0").Requests);
        Requests(h, Now, 2, 1, tool: "t0");
        var day = h.Totals(TimeSpan.FromDays(1), Now, "t0");
        Assert.Equal((2L, 1L), (day.Requests, day.Errors));
        var copy = new ServerHistory();
        Assert.True(copy.Import(h.Export(Now)));
        Assert.Equal(2, copy.Totals(TimeSpan.FromDays(1), Now, "t0").Requests);
        Assert.Equal(3, copy.Totals(TimeSpan.FromHours(1), Now, "t0").Requests);
    }

    [Fact]
    public void A_stored_history_reads_back_the_same_and_a_foreign_one_is_refused()
    {
        var h = new ServerHistory();
        Requests(h, Now.AddDays(-3), 5, 2, seconds: 0.3);
        Requests(h, Now, 4, 1, seconds: 2);
        h.RecordProbe(Now, Now, ok: false);
        var copy = new ServerHistory();
        Assert.True(copy.Import(h.Export(Now)));
        foreach (var window in new[] { TimeSpan.FromMinutes(5), TimeSpan.FromHours(6), TimeSpan.FromDays(30) })
        {
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(h.Totals(window, Now)), System.Text.Json.JsonSerializer.Serialize(copy.Totals(window, Now)));
        }
        Assert.False(new ServerHistory().Import([1, 2, 3, 4]));
    }

    /// <summary>
    /// What a server costs: 30 days of a steadily used server (about 2 requests a second with a daily swing, 1% errors,
    /// latencies over five buckets, a probe every 30 s), summed a minute at a time as OTLP sends it.
    /// </summary>
    [Fact]
    public void Thirty_days_of_a_busy_server_stores_in_under_8_KiB()
    {
        var h = new ServerHistory();
        var random = new Random(7);
        var start = Now.AddDays(-30).AddMinutes(1);
        for (var at = start; at <= Now; at = at.AddMinutes(1))
        {
            var load = 120 + (int)(60 * Math.Sin(at.TimeOfDay.TotalHours / 24 * 2 * Math.PI)) + random.Next(20);
            var errors = random.Next(3);
            long[] counts = [load / 5, load / 3, load / 4, load / 10, load / 20];
            var total = counts.Sum();
            h.RecordMany(at, Now, total - errors, true, total * 0.08, [0.025, 0.05, 0.1, 0.25, 0.5], [.. counts.Select((c, i) => i == 1 ? c - errors : c), 0], 0.9, "search");
            h.RecordMany(at, Now, errors, false, errors * 0.05, [0.05], [errors, 0], 0.05, "search");
            h.RecordProbe(at, Now, ok: true);
            h.RecordProbe(at.AddSeconds(30), Now, ok: true);
        }
        var stored = h.Export(Now);
        Assert.True(stored.Length < 8 * 1024, $"{stored.Length} bytes stored for 30 days");
        TestContext.Current.SendDiagnosticMessage($"30 days of a busy server: {stored.Length} bytes stored, {h.Bytes} bytes in memory");
        Assert.InRange(h.Totals(TimeSpan.FromDays(30), Now).MeasuredSeconds, 30 * 24 * 3600 - 3600, 30 * 24 * 3600);
    }
}

/// <summary>A history as this version stored it: the format is pinned, so a later version must still read it.</summary>
public sealed class StoredHistoryFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 30, 0, TimeSpan.Zero);

    internal static ServerHistory Sample()
    {
        var h = new ServerHistory();
        for (var i = 0; i < 30; i++) h.RecordRequest(Now.AddHours(-i), Now, 0.02 * (i % 5 + 1), i % 10 != 0, i % 2 == 0 ? "search" : "fetch");
        h.RecordProbe(Now, Now, ok: false);
        h.RecordProbe(Now.AddMinutes(-1), Now, ok: true);
        h.Totals(TimeSpan.FromDays(1), Now, "search"); // an objective asked about this tool: it keeps hours from here on
        h.RecordRequest(Now, Now, 0.3, false, "search");
        return h;
    }

    [Fact]
    public void A_history_stored_by_format_1_still_reads()
    {
        // Sample(), exported by format 1 (2026-12-06).
        const string stored = "G7cCAATq++n2XaqMSyhNfRwa754wAU8XKoOR0XTF+Ajz1x3YQeXfDQ/87f9aAbY0C8M4jEIMgLJz4WXzYJTqWvv3sm0E810bKylQl1EtTnsLIYRb1nxPkUDHXLm7l3CHu/s+UcP72e6ao6ExgSGpwn8EndeADt0QC5HimdAyZo1dDMh/G9zXgJ26IRapZ0uK6rzi9diu9v9yAljfxkq/9I2z8gA=";
        var h = new ServerHistory();
        Assert.True(h.Import(Convert.FromBase64String(stored)));
        var month = h.Totals(TimeSpan.FromDays(30), Now);
        Assert.Equal((31L, 4L, 2L, 1L), (month.Requests, month.Errors, month.Probes, month.ProbeFailures));
        Assert.Equal(1, h.Totals(TimeSpan.FromDays(1), Now, "search").Requests);
        Assert.Equal(2, h.Totals(TimeSpan.FromHours(1), Now, "search").Requests);
        var again = new ServerHistory();
        Assert.True(again.Import(Sample().Export(Now)));
        Assert.Equal(month, again.Totals(TimeSpan.FromDays(30), Now) with { Buckets = month.Buckets });
        Assert.Equal(month.Buckets, again.Totals(TimeSpan.FromDays(30), Now).Buckets);
    }
}
