using System.Numerics;

namespace Monitoring.Servers.History;

/// <summary>
/// One slot of history (a minute or an hour), decoded: requests by latency bucket, errors, total duration in
/// milliseconds, probes and failed probes, and for an hour which of its minutes had any data at all.
/// </summary>
internal sealed class HistoryRow(long epoch)
{
    public long Epoch { get; set; } = epoch;
    public readonly long[] Buckets = new long[HistoryBuckets.Count];
    public long Errors;
    public long SumMillis;
    public long Probes;
    public long ProbeFailures;

    /// <summary>For an hour: bit m set when minute m of it had data.</summary>
    public ulong Minutes;

    public long Requests
    {
        get
        {
            long sum = 0;
            foreach (var count in Buckets) sum += count;
            return sum;
        }
    }

    public void AddTo(ref Accumulator totals)
    {
        for (var i = 0; i < Buckets.Length; i++) totals.Buckets[i] += Buckets[i];
        totals.Errors += Errors;
        totals.SumMillis += SumMillis;
        totals.Probes += Probes;
        totals.ProbeFailures += ProbeFailures;
    }
}

/// <summary>Totals being summed, turned into a <see cref="HistoryTotals"/> at the end.</summary>
internal struct Accumulator()
{
    public long[] Buckets = new long[HistoryBuckets.Count];
    public long Errors;
    public long SumMillis;
    public long Probes;
    public long ProbeFailures;
    public long MeasuredSeconds;

    public readonly HistoryTotals ToTotals()
    {
        long requests = 0;
        foreach (var count in Buckets) requests += count;
        return new HistoryTotals(requests, Errors, Buckets, SumMillis / 1000.0, MeasuredSeconds, Probes, ProbeFailures);
    }
}

/// <summary>
/// Rows of history kept encoded, oldest first, in one byte buffer: each row is its distance from the one before, its
/// errors, duration, probes and (for hours) its minute mask, then a bit mask of the latency buckets it used and only
/// those counts, all as variable-length integers. The month the `--slo` benchmark builds (a steadily used server) is
/// 15,160 bytes this way, about 21 an hour with its minute rings; stored, it is columns of deltas instead (<see cref="Export"/>). The newest row is also kept decoded, since nearly every write lands there; a write to an older
/// row (data sent late) decodes, changes and encodes the rows again. Rows older than <see cref="_retention"/> slots
/// behind the newest are dropped as rows are encoded. Not thread-safe: a grain owns it.
/// </summary>
internal sealed class HistoryRows(int retention, bool hourly)
{
    private const ulong AllMinutes = (1UL << 60) - 1;
    private readonly int _retention = retention;
    private readonly bool _hourly = hourly;
    private byte[] _data = [];
    private int _length;
    private long _lastEncoded = long.MinValue;
    private HistoryRow? _hot;

    public int Bytes => _length + (_hot is null ? 0 : 24);

    /// <summary>The newest slot held, or long.MinValue when none.</summary>
    public long Newest => _hot?.Epoch ?? _lastEncoded;

    /// <summary>The oldest slot held, if any.</summary>
    public long? FirstEpoch
    {
        get
        {
            if (_length > 0)
            {
                var position = 0;
                return ReadVarint(_data, ref position);
            }
            return _hot?.Epoch;
        }
    }

    /// <summary>Applies <paramref name="change"/> to the row of <paramref name="epoch"/>, made when absent.</summary>
    public void Change<TState>(long epoch, TState state, Action<HistoryRow, TState> change)
    {
        if (_hot is { } hot && hot.Epoch == epoch)
        {
            change(hot, state);
            return;
        }
        if (epoch > (_hot?.Epoch ?? _lastEncoded))
        {
            Flush(epoch);
            _hot = new HistoryRow(epoch);
            change(_hot, state);
            return;
        }
        // Data sent late: the rows are decoded, the one it belongs to found or made, and all encoded again.
        var rows = Decode();
        var index = rows.FindIndex(r => r.Epoch >= epoch);
        if (index < 0 || rows[index].Epoch != epoch)
        {
            rows.Insert(index < 0 ? rows.Count : index, new HistoryRow(epoch));
            index = index < 0 ? rows.Count - 1 : index;
        }
        change(rows[index], state);
        Encode(rows, keepNewestHot: true);
    }

    /// <summary>Sums the rows from <paramref name="from"/> to <paramref name="to"/> inclusive.</summary>
    public void SumInto(long from, long to, ref Accumulator totals)
    {
        Span<Accumulator> one = [totals];
        SumInto([from], [to], one);
        totals = one[0];
    }

    /// <summary>Sums the rows into each of several ranges (from and to inclusive) in one pass over the rows.</summary>
    public void SumInto(ReadOnlySpan<long> from, ReadOnlySpan<long> to, Span<Accumulator> totals)
    {
        var position = 0;
        var epoch = 0L;
        var first = true;
        var row = _scratch;
        while (position < _length)
        {
            epoch = first ? ReadVarint(_data, ref position) : epoch + ReadVarint(_data, ref position);
            first = false;
            row.Epoch = epoch;
            ReadBody(row, ref position);
            for (var i = 0; i < from.Length; i++)
            {
                if (epoch >= from[i] && epoch <= to[i]) Add(row, ref totals[i]);
            }
        }
        if (_hot is { } hot)
        {
            for (var i = 0; i < from.Length; i++)
            {
                if (hot.Epoch >= from[i] && hot.Epoch <= to[i]) Add(hot, ref totals[i]);
            }
        }
    }

    private readonly HistoryRow _scratch = new(0);

    private void Add(HistoryRow row, ref Accumulator totals)
    {
        row.AddTo(ref totals);
        totals.MeasuredSeconds += _hourly ? 60L * BitOperations.PopCount(row.Minutes) : 60;
    }

    /// <summary>Every row from <paramref name="from"/> on, decoded, oldest first.</summary>
    public List<HistoryRow> Rows(long from) => Decode().Where(r => r.Epoch >= from).ToList();

    /// <summary>
    /// The rows as stored (those older than the retention behind <paramref name="now"/> dropped): column by column, each
    /// value as its change from the row before (zigzag varints), which a compressor then shrinks far better than rows.
    /// </summary>
    public byte[] Export(long now)
    {
        var rows = Decode();
        rows.RemoveAll(r => r.Epoch <= now - _retention);
        Encode(rows, keepNewestHot: true);
        var data = new byte[16 + rows.Count * (8 + HistoryBuckets.Count) * 10];
        var length = 0;
        WriteVarint(data, ref length, (ulong)rows.Count);
        foreach (var column in Columns)
        {
            if (column == Column.Minutes && !_hourly) continue;
            long previous = 0;
            for (var b = 0; b < (column == Column.Bucket ? HistoryBuckets.Count : 1); b++)
            {
                previous = 0;
                foreach (var row in rows)
                {
                    var value = Get(row, column, b);
                    WriteVarint(data, ref length, ZigZag(value - previous));
                    previous = value;
                }
            }
        }
        return data[..length];
    }

    public void Import(ReadOnlySpan<byte> stored)
    {
        var data = stored.ToArray();
        var position = 0;
        var count = (int)ReadVarint(data, ref position);
        if (count < 0 || count > _retention + 1) throw new FormatException("the stored history holds more rows than it can");
        var rows = new List<HistoryRow>(count);
        for (var i = 0; i < count; i++) rows.Add(new HistoryRow(0));
        foreach (var column in Columns)
        {
            if (column == Column.Minutes && !_hourly) continue;
            for (var b = 0; b < (column == Column.Bucket ? HistoryBuckets.Count : 1); b++)
            {
                long previous = 0;
                foreach (var row in rows)
                {
                    previous += UnZigZag((ulong)ReadVarint(data, ref position));
                    Set(row, column, b, previous);
                }
            }
        }
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i].Epoch <= rows[i - 1].Epoch) throw new FormatException("the stored history's rows are out of order");
        }
        Encode(rows, keepNewestHot: true);
    }

    private enum Column { Epoch, Errors, SumMillis, Probes, ProbeFailures, Minutes, Bucket }

    private static readonly Column[] Columns = Enum.GetValues<Column>();

    private static long Get(HistoryRow row, Column column, int bucket) => column switch
    {
        Column.Epoch => row.Epoch,
        Column.Errors => row.Errors,
        Column.SumMillis => row.SumMillis,
        Column.Probes => row.Probes,
        Column.ProbeFailures => row.ProbeFailures,
        Column.Minutes => (long)row.Minutes,
        _ => row.Buckets[bucket],
    };

    private static void Set(HistoryRow row, Column column, int bucket, long value)
    {
        switch (column)
        {
            case Column.Epoch: row.Epoch = value; break;
            case Column.Errors: row.Errors = Math.Max(0, value); break;
            case Column.SumMillis: row.SumMillis = Math.Max(0, value); break;
            case Column.Probes: row.Probes = Math.Max(0, value); break;
            case Column.ProbeFailures: row.ProbeFailures = Math.Max(0, value); break;
            case Column.Minutes: row.Minutes = (ulong)value & AllMinutes; break;
            default: row.Buckets[bucket] = Math.Max(0, value); break;
        }
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    /// <summary>Encodes the hot row behind the others once a newer slot begins, dropping rows too old for the retention.</summary>
    private void Flush(long newest)
    {
        if (_hot is { } hot)
        {
            WriteRow(ref _data, ref _length, hot, _lastEncoded);
            _lastEncoded = hot.Epoch;
            _hot = null;
        }
        if (FirstEpoch is { } first && first <= newest - _retention)
        {
            var rows = Decode();
            rows.RemoveAll(r => r.Epoch <= newest - _retention);
            Encode(rows, keepNewestHot: false);
        }
    }

    private List<HistoryRow> Decode()
    {
        var rows = new List<HistoryRow>();
        var position = 0;
        var epoch = 0L;
        while (position < _length)
        {
            epoch = rows.Count == 0 ? ReadVarint(_data, ref position) : epoch + ReadVarint(_data, ref position);
            var row = new HistoryRow(epoch);
            ReadBody(row, ref position);
            rows.Add(row);
        }
        if (_hot is not null) rows.Add(_hot);
        return rows;
    }

    private void Encode(List<HistoryRow> rows, bool keepNewestHot)
    {
        _data = new byte[Math.Max(64, rows.Count * 24)];
        _length = 0;
        _lastEncoded = long.MinValue;
        _hot = null;
        for (var i = 0; i < rows.Count; i++)
        {
            if (keepNewestHot && i == rows.Count - 1)
            {
                _hot = rows[i];
                break;
            }
            WriteRow(ref _data, ref _length, rows[i], _lastEncoded);
            _lastEncoded = rows[i].Epoch;
        }
    }

    private void WriteRow(ref byte[] data, ref int length, HistoryRow row, long previous)
    {
        var needed = length + 16 * 10 + 9 * HistoryBuckets.Count;
        if (data.Length < needed) Array.Resize(ref data, Math.Max(needed, data.Length * 2));
        WriteVarint(data, ref length, (ulong)(previous == long.MinValue ? row.Epoch : row.Epoch - previous));
        WriteVarint(data, ref length, (ulong)Math.Max(0, row.Errors));
        WriteVarint(data, ref length, (ulong)Math.Max(0, row.SumMillis));
        WriteVarint(data, ref length, (ulong)Math.Max(0, row.Probes));
        WriteVarint(data, ref length, (ulong)Math.Max(0, row.ProbeFailures));
        if (_hourly) WriteVarint(data, ref length, row.Minutes == AllMinutes ? 0 : row.Minutes + 1);
        ulong mask = 0;
        for (var i = 0; i < row.Buckets.Length; i++)
        {
            if (row.Buckets[i] > 0) mask |= 1UL << i;
        }
        WriteVarint(data, ref length, mask);
        for (var i = 0; i < row.Buckets.Length; i++)
        {
            if (row.Buckets[i] > 0) WriteVarint(data, ref length, (ulong)row.Buckets[i]);
        }
    }

    private void ReadBody(HistoryRow row, ref int position)
    {
        row.Errors = ReadVarint(_data, ref position);
        row.SumMillis = ReadVarint(_data, ref position);
        row.Probes = ReadVarint(_data, ref position);
        row.ProbeFailures = ReadVarint(_data, ref position);
        if (_hourly)
        {
            var minutes = (ulong)ReadVarint(_data, ref position);
            row.Minutes = minutes == 0 ? AllMinutes : minutes - 1;
        }
        var mask = (ulong)ReadVarint(_data, ref position);
        for (var i = 0; i < row.Buckets.Length; i++)
        {
            row.Buckets[i] = (mask & (1UL << i)) != 0 ? ReadVarint(_data, ref position) : 0;
        }
    }

    private static void WriteVarint(byte[] data, ref int position, ulong value)
    {
        while (value >= 0x80)
        {
            data[position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        data[position++] = (byte)value;
    }

    private static long ReadVarint(byte[] data, ref int position)
    {
        ulong value = 0;
        var shift = 0;
        while (true)
        {
            if (position >= data.Length || shift > 63) throw new FormatException("the stored history is cut short");
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return (long)value;
            shift += 7;
        }
    }
}
