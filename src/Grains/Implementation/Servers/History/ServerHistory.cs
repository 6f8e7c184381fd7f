using System.IO.Compression;

namespace Monitoring.Servers.History;

/// <summary>
/// A server's long-range history: 30 days of hourly rows and a minute ring for the last hour, for the server and for
/// its busiest tools, plus hourly rows for each tool an objective asks about. Each row counts requests by latency
/// bucket (<see cref="HistoryBuckets"/>), errors, total duration and probes, and an hour knows which of its minutes had
/// any data, so time nobody measured never counts as good. Read as totals over a window: up to an hour from the minute
/// ring, exact; longer from the hours, exact at the near end and to the half hour at the far end. Not thread-safe: a
/// grain owns it.
/// </summary>
public sealed class ServerHistory
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);
    public const int HourRetention = 30 * 24;
    public const int MinuteRetention = 60;

    /// <summary>Tools with a minute ring of their own; calls of any other tool are summed as <see cref="OtherTools"/>.</summary>
    public const int MaxTools = 10;

    public const string OtherTools = "(other)";

    /// <summary>A tool's hourly rows are kept while an objective asks for them at least this often.</summary>
    public static readonly TimeSpan WatchedToolIdle = TimeSpan.FromDays(7);

    private const byte FormatVersion = 1;
    private const long TicksPerMinute = TimeSpan.TicksPerMinute;
    private const long TicksPerHour = TimeSpan.TicksPerHour;

    private HistoryRows _hours = new(HourRetention, hourly: true);
    private HistoryRows _minutes = new(MinuteRetention, hourly: false);
    private readonly Dictionary<string, HistoryRows> _toolMinutes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (HistoryRows Hours, DateTimeOffset AskedAt)> _watched = new(StringComparer.Ordinal);

    /// <summary>When the first data still held arrived (its hour): a window reaching further back has less to count.</summary>
    public DateTimeOffset? Since => _hours.FirstEpoch is { } hour ? new DateTimeOffset(hour * TicksPerHour, TimeSpan.Zero) : null;

    /// <summary>Whether anything changed since the last <see cref="Export"/>.</summary>
    public bool Changed { get; private set; }

    /// <summary>The bytes held in memory for the rows (their encoded form).</summary>
    public int Bytes => _hours.Bytes + _minutes.Bytes + _toolMinutes.Values.Sum(t => t.Bytes) + _watched.Values.Sum(w => w.Hours.Bytes);

    /// <summary>Adds one request. Answers false when it is older than the retention.</summary>
    public bool RecordRequest(DateTimeOffset at, DateTimeOffset now, double seconds, bool success, string? tool)
    {
        Span<long> buckets = stackalloc long[HistoryBuckets.Count];
        buckets[HistoryBuckets.Of(Math.Max(0, seconds))] = 1;
        return Record(at, now, new Delta(buckets, success ? 0 : 1, (long)Math.Round(Math.Max(0, seconds) * 1000), 0, 0), tool);
    }

    /// <summary>
    /// Adds many requests a sender summed up over its own bucket bounds (upper bounds inclusive, one count more than
    /// bounds). Each of its buckets goes whole into the bucket here that holds its upper bound (the largest duration,
    /// above the last bound), so a request is never counted faster than it may have been; the sender's bounds that are
    /// Prometheus' defaults land exactly.
    /// </summary>
    public bool RecordMany(DateTimeOffset at, DateTimeOffset now, long count, bool success, double sumSeconds,
        ReadOnlySpan<double> bounds, ReadOnlySpan<long> counts, double? maxSeconds, string? tool)
    {
        if (count <= 0) return true;
        Span<long> buckets = stackalloc long[HistoryBuckets.Count];
        long placed = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] <= 0) continue;
            var upper = i < bounds.Length ? bounds[i] : maxSeconds ?? double.PositiveInfinity;
            if (maxSeconds is { } max) upper = Math.Min(upper, max);
            buckets[HistoryBuckets.Of(upper)] += counts[i];
            placed += counts[i];
        }
        // Counts without a distribution (or fewer than the total) are placed by their average duration.
        if (placed < count) buckets[HistoryBuckets.Of(count > 0 ? Math.Max(0, sumSeconds) / count : 0)] += count - placed;
        return Record(at, now, new Delta(buckets, success ? 0 : count, (long)Math.Round(Math.Max(0, sumSeconds) * 1000), 0, 0), tool);
    }

    /// <summary>Adds one probe's outcome.</summary>
    public bool RecordProbe(DateTimeOffset at, DateTimeOffset now, bool ok)
    {
        Span<long> none = stackalloc long[HistoryBuckets.Count];
        return Record(at, now, new Delta(none, 0, 0, 1, ok ? 0 : 1), null);
    }

    private readonly ref struct Delta(Span<long> buckets, long errors, long sumMillis, long probes, long probeFailures)
    {
        public readonly Span<long> Buckets = buckets;
        public readonly long Errors = errors;
        public readonly long SumMillis = sumMillis;
        public readonly long Probes = probes;
        public readonly long ProbeFailures = probeFailures;
    }

    private sealed class Change
    {
        public long[] Buckets = new long[HistoryBuckets.Count];
        public long Errors, SumMillis, Probes, ProbeFailures;
        public int Minute;

        public static readonly Action<HistoryRow, Change> Apply = static (row, c) =>
        {
            for (var i = 0; i < c.Buckets.Length; i++) row.Buckets[i] += c.Buckets[i];
            row.Errors += c.Errors;
            row.SumMillis += c.SumMillis;
            row.Probes += c.Probes;
            row.ProbeFailures += c.ProbeFailures;
            row.Minutes |= 1UL << c.Minute;
        };
    }

    private readonly Change _change = new();

    private bool Record(DateTimeOffset at, DateTimeOffset now, Delta delta, string? tool)
    {
        if (at > now) at = now;
        if (at <= now - Retention) return false;
        var c = _change;
        delta.Buckets.CopyTo(c.Buckets);
        (c.Errors, c.SumMillis, c.Probes, c.ProbeFailures) = (delta.Errors, delta.SumMillis, delta.Probes, delta.ProbeFailures);
        var minute = at.UtcTicks / TicksPerMinute;
        var hour = at.UtcTicks / TicksPerHour;
        c.Minute = (int)(minute % 60);
        _hours.Change(hour, c, Change.Apply);
        var recent = minute > now.UtcTicks / TicksPerMinute - MinuteRetention;
        if (recent) _minutes.Change(minute, c, Change.Apply);
        if (tool is not null && delta.Probes == 0)
        {
            if (recent) ToolMinutes(tool, now).Change(minute, c, Change.Apply);
            if (_watched.TryGetValue(tool, out var watched)) watched.Hours.Change(hour, c, Change.Apply);
        }
        Changed = true;
        return true;
    }

    /// <summary>The tool's minute ring; a tool beyond the first <see cref="MaxTools"/> takes the place of one idle for an hour, or is summed as other.</summary>
    private HistoryRows ToolMinutes(string tool, DateTimeOffset now)
    {
        if (_toolMinutes.TryGetValue(tool, out var rows)) return rows;
        if (_toolMinutes.Count - (_toolMinutes.ContainsKey(OtherTools) ? 1 : 0) >= MaxTools)
        {
            var idle = _toolMinutes.FirstOrDefault(t => t.Key != OtherTools && t.Value.Newest < now.UtcTicks / TicksPerMinute - MinuteRetention + 1).Key;
            if (idle is null) return _toolMinutes.TryGetValue(OtherTools, out var other) ? other : _toolMinutes[OtherTools] = new HistoryRows(MinuteRetention, hourly: false);
            _toolMinutes.Remove(idle);
        }
        return _toolMinutes[tool] = new HistoryRows(MinuteRetention, hourly: false);
    }

    /// <summary>
    /// The totals over the last <paramref name="window"/> before <paramref name="now"/>, for one tool or all. A tool
    /// asked about starts keeping hourly rows from now on (only its minute ring looks back further).
    /// </summary>
    public HistoryTotals Totals(TimeSpan window, DateTimeOffset now, string? tool = null) => Totals([window], now, tool)[0];

    /// <summary>The totals over each window, reading the minute ring and the hours once each.</summary>
    public HistoryTotals[] Totals(TimeSpan[] windows, DateTimeOffset now, string? tool = null)
    {
        var totals = new Accumulator[windows.Length];
        for (var i = 0; i < totals.Length; i++) totals[i] = new Accumulator();
        var nowMinute = now.UtcTicks / TicksPerMinute;
        var nowHour = now.UtcTicks / TicksPerHour;
        var from = new long[windows.Length];
        var to = new long[windows.Length];
        foreach (var minutes in new[] { true, false })
        {
            var any = false;
            for (var i = 0; i < windows.Length; i++)
            {
                var short_ = windows[i] <= TimeSpan.FromHours(1);
                (from[i], to[i]) = short_ != minutes ? (1, 0) // an empty range: the other store reads it
                    : minutes ? (nowMinute - (long)Math.Ceiling(windows[i].TotalMinutes) + 1, nowMinute)
                    : ((now - windows[i] + TimeSpan.FromMinutes(30)).UtcTicks / TicksPerHour, nowHour);
                any |= short_ == minutes;
            }
            if (!any) continue;
            var rows = minutes ? tool is null ? _minutes : _toolMinutes.GetValueOrDefault(tool) : tool is null ? _hours : Watch(tool, now);
            rows?.SumInto(from, to, totals);
        }
        return [.. totals.Select(t => t.ToTotals())];
    }

    private HistoryRows Watch(string tool, DateTimeOffset now)
    {
        if (_watched.TryGetValue(tool, out var watched))
        {
            if (now - watched.AskedAt > TimeSpan.FromHours(1)) _watched[tool] = (watched.Hours, now);
            return watched.Hours;
        }
        var rows = new HistoryRows(HourRetention, hourly: true);
        _watched[tool] = (rows, now);
        Changed = true;
        return rows;
    }

    /// <summary>An objective's question: totals per window, and since when this server has history.</summary>
    public HistoryAnswer Answer(TotalsQuery query, DateTimeOffset now) => new(Totals(query.Windows, now, query.Tool), Since);

    /// <summary>The seed's summary over <paramref name="window"/>, with its hours for a chart and the tools' last hour.</summary>
    public ServerHistorySummary Summary(TimeSpan window, DateTimeOffset now)
    {
        var fromHour = (now - window + TimeSpan.FromMinutes(30)).UtcTicks / TicksPerHour;
        var points = _hours.Rows(fromHour).Select(r =>
        {
            var totals = new Accumulator();
            r.AddTo(ref totals);
            totals.MeasuredSeconds = 60L * System.Numerics.BitOperations.PopCount(r.Minutes);
            var t = totals.ToTotals();
            return new HistoryPoint(new DateTimeOffset(r.Epoch * TicksPerHour, TimeSpan.Zero), t.Requests, t.Errors, t.Quantile(0.95), t.MeasuredSeconds);
        }).ToArray();
        var tools = _toolMinutes.Select(t => new ToolMinuteTotals(t.Key, SumMinutes(t.Value, now)))
            .Where(t => t.Totals.Requests > 0).OrderByDescending(t => t.Totals.Requests).ToArray();
        return new ServerHistorySummary(window, new DateTimeOffset(fromHour * TicksPerHour, TimeSpan.Zero), now, Totals(window, now), points, tools);
    }

    private static HistoryTotals SumMinutes(HistoryRows rows, DateTimeOffset now)
    {
        var totals = new Accumulator();
        var nowMinute = now.UtcTicks / TicksPerMinute;
        rows.SumInto(nowMinute - MinuteRetention + 1, nowMinute, ref totals);
        return totals.ToTotals();
    }

    /// <summary>
    /// The history as stored: every section's rows (those past the retention dropped), Brotli-compressed. Tools no
    /// objective asked about for <see cref="WatchedToolIdle"/> lose their hourly rows here.
    /// </summary>
    public byte[] Export(DateTimeOffset now)
    {
        foreach (var (tool, watched) in _watched.ToArray())
        {
            if (now - watched.AskedAt > WatchedToolIdle) _watched.Remove(tool);
        }
        var nowMinute = now.UtcTicks / TicksPerMinute;
        var nowHour = now.UtcTicks / TicksPerHour;
        using var raw = new MemoryStream();
        using (var writer = new BinaryWriter(raw, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            Section(writer, _hours.Export(nowHour));
            Section(writer, _minutes.Export(nowMinute));
            writer.Write(_toolMinutes.Count);
            foreach (var (tool, rows) in _toolMinutes)
            {
                writer.Write(tool);
                Section(writer, rows.Export(nowMinute));
            }
            writer.Write(_watched.Count);
            foreach (var (tool, (rows, askedAt)) in _watched)
            {
                writer.Write(tool);
                writer.Write(askedAt.UtcTicks);
                Section(writer, rows.Export(nowHour));
            }
        }
        Changed = false;
        using var compressed = new MemoryStream();
        using (var brotli = new BrotliStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(brotli);
        }
        return compressed.ToArray();
    }

    /// <summary>The snapshot <see cref="Export"/> made was not stored: the history counts as changed until one is.</summary>
    public void ExportLost() => Changed = true;

    /// <summary>Reads what <see cref="Export"/> wrote; false (and empty) when it is not a history this code can read.</summary>
    public bool Import(byte[] data)
    {
        try
        {
            using var input = new BrotliStream(new MemoryStream(data), CompressionMode.Decompress);
            using var raw = new MemoryStream();
            input.CopyTo(raw);
            raw.Position = 0;
            using var reader = new BinaryReader(raw);
            if (reader.ReadByte() != FormatVersion) return false;
            var hours = new HistoryRows(HourRetention, hourly: true);
            hours.Import(ReadSection(reader));
            var minutes = new HistoryRows(MinuteRetention, hourly: false);
            minutes.Import(ReadSection(reader));
            var toolMinutes = new Dictionary<string, HistoryRows>(StringComparer.Ordinal);
            for (var count = reader.ReadInt32(); count > 0; count--)
            {
                var tool = reader.ReadString();
                (toolMinutes[tool] = new HistoryRows(MinuteRetention, hourly: false)).Import(ReadSection(reader));
            }
            var watched = new Dictionary<string, (HistoryRows, DateTimeOffset)>(StringComparer.Ordinal);
            for (var count = reader.ReadInt32(); count > 0; count--)
            {
                var tool = reader.ReadString();
                var askedAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
                var rows = new HistoryRows(HourRetention, hourly: true);
                rows.Import(ReadSection(reader));
                watched[tool] = (rows, askedAt);
            }
            (_hours, _minutes) = (hours, minutes);
            _toolMinutes.Clear();
            foreach (var (tool, rows) in toolMinutes) _toolMinutes[tool] = rows;
            _watched.Clear();
            foreach (var (tool, w) in watched) _watched[tool] = w;
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            return false;
        }
    }

    private static void Section(BinaryWriter writer, byte[] rows)
    {
        writer.Write(rows.Length);
        writer.Write(rows);
    }

    private static byte[] ReadSection(BinaryReader reader)
    {
        var length = reader.ReadInt32();
        if (length < 0 || length > 1 << 24) throw new FormatException("a section of the stored history has an impossible length");
        return reader.ReadBytes(length);
    }
}
