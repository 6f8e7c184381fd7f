using Monitoring.Servers;
using Monitoring.Servers.History;
using Monitoring.Slo;

namespace Monitoring.Tests.Slo;

/// <summary>
/// Budgets and burn rates worked out by hand, without a cluster: each row gives the events in the objective's window
/// and in each burn window (5m, 30m, 1h, 2h, 6h, 1d, 3d), and what the reading must be.
/// </summary>
public sealed class SloMathTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 31, 12, 30, 0, TimeSpan.Zero);

    private static SloDefinition Slo(double objective = 99.5, SloIndicator indicator = SloIndicator.Availability, double? threshold = null, int minEvents = 10) =>
        new("api", "API", [], null, indicator, threshold, objective, TimeSpan.FromDays(30), false, [], SloDefinition.DefaultPageFactors, SloDefinition.DefaultTicketFactors, minEvents, Now);

    private static HistoryTotals T(long requests, long errors) => new(requests, errors, [requests, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0, 0, 0);

    /// <summary>The objective's window, then 5m, 30m, 1h, 2h, 6h, 1d, 3d, each as (requests, errors).</summary>
    private static HistoryAnswer A(params (long Requests, long Errors)[] windows) => new([.. windows.Select(w => T(w.Requests, w.Errors))], Now.AddDays(-30));

    public static TheoryData<string, HistoryAnswer, double?, double?, double?[], string?, string?> Rows => new()
    {
        // what, totals, SLI, budget remaining, burn rates, page (long/short), ticket (long/short)
        {
            "a quiet month: half the budget spent, nothing burns",
            A((100_000, 250), (100, 0), (600, 0), (1_200, 0), (2_400, 0), (7_200, 0), (28_800, 0), (86_400, 0)),
            0.9975, 0.5, [0, 0, 0, 0, 0, 0, 0], null, null
        },
        {
            "a sharp outage: 1h at 16x and 5m at 20x page; the day burns under 1x, so no ticket",
            A((100_000, 196), (100, 10), (600, 60), (1_200, 96), (2_400, 96), (7_200, 96), (28_800, 96), (86_400, 96)),
            0.99804, 0.608, [20, 20, 16, 8, 96 / 7_200.0 / 0.005, 96 / 28_800.0 / 0.005, 96 / 86_400.0 / 0.005], "1h/5m", null
        },
        {
            "the fast pair needs both: a 5m blip alone does not page",
            A((100_000, 100), (100, 50), (600, 50), (1_200, 50), (2_400, 50), (7_200, 50), (28_800, 50), (86_400, 50)),
            0.999, 0.8, [100, 50 / 600.0 / 0.005, 50 / 1_200.0 / 0.005, 50 / 2_400.0 / 0.005, 50 / 7_200.0 / 0.005, 50 / 28_800.0 / 0.005, 50 / 86_400.0 / 0.005], null, null
        },
        {
            "a slow leak at 2% (4x): a ticket from 1d and 2h, no page",
            A((100_000, 2_000), (100, 2), (600, 12), (1_200, 24), (2_400, 48), (7_200, 144), (28_800, 576), (86_400, 1_728)),
            0.98, -3, [4, 4, 4, 4, 4, 4, 4], null, "1d/2h"
        },
        {
            "a leak at 0.75% (1.5x): only the 3d and 6h ticket",
            A((100_000, 750), (400, 3), (1_200, 9), (2_400, 18), (4_800, 36), (14_400, 108), (57_600, 432), (172_800, 1_296)),
            0.9925, -0.5, [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5], null, "3d/6h"
        },
        {
            "too few events in 5m: its burn rate is undefined, and the fast page cannot hold",
            A((100_000, 100), (5, 5), (600, 300), (1_200, 300), (2_400, 300), (7_200, 300), (28_800, 300), (86_400, 300)),
            0.999, 0.8, [null, 100, 50, 25, 300 / 7_200.0 / 0.005, 300 / 28_800.0 / 0.005, 300 / 86_400.0 / 0.005], "6h/30m", null
        },
        {
            "no events at all: no SLI, no budget figure, no burn rate; nothing fires",
            A((0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)),
            null, null, [null, null, null, null, null, null, null], null, null
        },
        {
            "a correction that would make good negative is held at zero",
            A((10, 15), (10, 15), (10, 15), (10, 15), (10, 15), (10, 15), (10, 15), (10, 15)),
            0, -199, [200, 200, 200, 200, 200, 200, 200], "1h/5m", "1d/2h"
        },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_row_reads_as_worked_out_by_hand(string what, HistoryAnswer answer, double? sli, double? remaining, double?[] burns, string? page, string? ticket)
    {
        var reading = SloMath.Read(Slo(), answer);
        AssertClose(sli, reading.Sli, what + ": SLI");
        AssertClose(remaining, reading.BudgetRemaining, what + ": budget remaining");
        for (var i = 0; i < burns.Length; i++) AssertClose(burns[i], reading.BurnRates[i], $"{what}: burn over {SloMath.BurnWindowNames[i]}");
        Assert.True(page == Pair(reading.Page), $"{what}: page {Pair(reading.Page)}");
        Assert.True(ticket == Pair(reading.Ticket), $"{what}: ticket {Pair(reading.Ticket)}");
    }

    private static string? Pair(BurnCondition? c) => c is null ? null : $"{SloMath.NameOf(c.Long)}/{SloMath.NameOf(c.Short)}";

    private static void AssertClose(double? expected, double? actual, string what)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected == actual, $"{what}: expected {expected?.ToString() ?? "undefined"}, read {actual?.ToString() ?? "undefined"}");
            return;
        }
        Assert.True(Math.Abs(expected.Value - actual.Value) < 1e-9, $"{what}: expected {expected}, read {actual}");
    }

    [Fact]
    public void Uneven_traffic_is_summed_not_averaged()
    {
        // Day one: 1,000 requests, 100 failed (10%). Day two: 10 requests, none failed (0%). Averaging the days' ratios
        // says 5% bad; the events say 100 of 1,010.
        var h = new ServerHistory();
        for (var i = 0; i < 1_000; i++) h.RecordRequest(Now.AddDays(-2), Now, 0.01, i >= 100, null);
        for (var i = 0; i < 10; i++) h.RecordRequest(Now.AddDays(-1), Now, 0.01, true, null);
        var reading = SloMath.Read(Slo(objective: 90), h.Answer(SloMath.Query(Slo()), Now));
        Assert.Equal(910.0 / 1_010, reading.Sli!.Value, 12);
        Assert.Equal(1 - (100.0 / 1_010) / 0.1, reading.BudgetRemaining!.Value, 9);
    }

    [Fact]
    public void A_gap_counts_nothing_and_a_server_registered_mid_window_is_read_over_what_it_has()
    {
        // Registered 10 days ago, silent for 5 of them: 8 measured hours, the SLI over their events only.
        var h = new ServerHistory();
        for (var hour = 0; hour < 4; hour++)
        {
            for (var i = 0; i < 100; i++) h.RecordRequest(Now.AddDays(-10).AddHours(hour), Now, 0.01, i != 0, null);
            for (var i = 0; i < 100; i++) h.RecordRequest(Now.AddDays(-4).AddHours(hour), Now, 0.01, true, null);
        }
        var reading = SloMath.Read(Slo(), h.Answer(SloMath.Query(Slo()), Now));
        Assert.Equal(800, reading.Events);
        Assert.Equal(796, reading.Good);
        Assert.Equal(1 - (4.0 / 800) / 0.005, reading.BudgetRemaining!.Value, 9);
        Assert.Equal(8 * 60, reading.MeasuredSeconds); // one minute of data in each of the eight hours
        Assert.Equal(Now.AddDays(-10).UtcTicks / TimeSpan.TicksPerHour, reading.Since!.Value.UtcTicks / TimeSpan.TicksPerHour);
        Assert.All(reading.BurnRates[..5], b => Assert.Null(b)); // nothing in the last 6 hours: undefined, not zero
    }

    [Theory]
    [InlineData(0.25, 3)]  // requests at 10ms, 100ms and 250ms are good; 300ms and 2s are not
    [InlineData(0.1, 2)]
    [InlineData(2.5, 5)]
    public void A_latency_objective_counts_requests_under_its_threshold(double threshold, int good)
    {
        var h = new ServerHistory();
        foreach (var seconds in new[] { 0.01, 0.1, 0.25, 0.3, 2.0 }) h.RecordRequest(Now, Now, seconds, false, null);
        var slo = Slo(indicator: SloIndicator.Latency, threshold: threshold, minEvents: 1);
        var reading = SloMath.Read(slo, h.Answer(SloMath.Query(slo), Now));
        Assert.Equal((5L, (long)good), (reading.Events, reading.Good));
    }

    [Fact]
    public void A_probe_objective_counts_probes()
    {
        var h = new ServerHistory();
        for (var i = 0; i < 20; i++) h.RecordProbe(Now.AddMinutes(-i), Now, ok: i % 4 != 0);
        var slo = Slo(indicator: SloIndicator.Probe);
        var reading = SloMath.Read(slo, h.Answer(SloMath.Query(slo), Now));
        Assert.Equal((20L, 15L), (reading.Events, reading.Good));
        Assert.Equal(0.25 / 0.005, reading.BurnRates[1]!.Value, 9); // 30m: 20 probes, 5 failed
    }

    [Fact]
    public void Factors_are_the_objectives_own()
    {
        var slo = Slo() with { PageFactors = [30, 20], TicketFactors = [10, 5] };
        var reading = SloMath.Read(slo, A((100_000, 196), (100, 10), (600, 60), (1_200, 96), (2_400, 96), (7_200, 96), (28_800, 96), (86_400, 96)));
        Assert.Null(reading.Page);   // 20x and 16x are under 30
        Assert.Null(reading.Ticket); // 1d burns 0.67x, under 10
    }
}
