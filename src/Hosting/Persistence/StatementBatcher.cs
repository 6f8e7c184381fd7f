using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;

namespace Monitoring.Hosting.Persistence;

/// <summary>
/// Group commit for a silo's small statements (grain state reads and writes, listing rows). A statement that arrives
/// while PostgreSQL is busy with earlier ones waits for the next batch, and a batch goes as one round trip and one
/// implicit transaction: a registration storm costs a few dozen commits a second instead of one per statement.
/// A statement on an idle connection goes at once, alone, so a quiet cluster pays no delay.
/// <para>
/// Each caller still waits for its own statement: its task completes only after the batch has committed, so "written"
/// means what it meant before. A server error in one statement rolls the whole batch back; the batch is then run one
/// statement at a time, so only the statement at fault fails.
/// </para>
/// </summary>
public sealed class StatementBatcher(NpgsqlDataSource dataSource)
{
    /// <summary>Statements in one batch at most.</summary>
    public const int MaxBatch = 64;

    /// <summary>Batches in flight at once (each holds a pooled connection while it runs).</summary>
    public const int MaxInFlight = 4;

    private readonly ConcurrentQueue<Pending> _queue = new();
    private int _flushers;
    private long _batches;
    private long _statements;

    /// <summary>Batches sent and statements they carried since this batcher was made (the tests read it to see statements grouped).</summary>
    public (long Batches, long Statements) Sent => (Interlocked.Read(ref _batches), Interlocked.Read(ref _statements));

    /// <summary>
    /// Runs one statement (positional parameters, <c>$1</c>…) and answers what <paramref name="read"/> made of its rows.
    /// The statement must return rows, if only an empty set: a <c>SELECT</c>, or a write with <c>RETURNING</c>.
    /// </summary>
    public Task<T> RunAsync<T>(string sql, Parameter[] parameters, Func<NpgsqlDataReader, Task<T>> read)
    {
        // A batch's reader moves from one statement's rows to the next only for statements that return rows: one
        // that returns none would hand its neighbour's answer to the wrong caller.
        if (!sql.StartsWith("SELECT ", StringComparison.Ordinal) && !sql.Contains(" RETURNING ", StringComparison.Ordinal))
        {
            throw new ArgumentException("A batched statement must return rows (SELECT, or RETURNING)", nameof(sql));
        }
        var pending = new Pending<T>(sql, parameters, read);
        _queue.Enqueue(pending);
        StartFlusherIfNeeded();
        return pending.Task;
    }

    /// <summary>Runs one statement and answers how many rows it returned (a <c>RETURNING</c> clause counts changed rows).</summary>
    public Task<int> ExecuteAsync(string sql, params Parameter[] parameters) =>
        RunAsync(sql, parameters, async reader =>
        {
            var rows = 0;
            while (await reader.ReadAsync()) rows++;
            return rows;
        });

    private void StartFlusherIfNeeded()
    {
        while (true)
        {
            var running = Volatile.Read(ref _flushers);
            if (running >= MaxInFlight) return;
            if (Interlocked.CompareExchange(ref _flushers, running + 1, running) == running)
            {
                _ = Task.Run(FlushAsync);
                return;
            }
        }
    }

    private async Task FlushAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.TryDequeue(out var pending)) batch.Add(pending);
            if (batch.Count == 0)
            {
                Interlocked.Decrement(ref _flushers);
                // A statement queued between the last look and the decrement may have found every flusher busy.
                if (_queue.IsEmpty) return;
                var running = Volatile.Read(ref _flushers);
                if (running >= MaxInFlight || Interlocked.CompareExchange(ref _flushers, running + 1, running) != running) return;
                continue;
            }
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _statements, batch.Count);
            if (batch.Count == 1) await RunAloneAsync(batch[0]);
            else await RunTogetherAsync(batch);
        }
    }

    private async Task RunTogetherAsync(List<Pending> batch)
    {
        try
        {
            await using (var connection = await dataSource.OpenConnectionAsync())
            await using (var command = new NpgsqlBatch(connection))
            {
                foreach (var pending in batch) command.BatchCommands.Add(pending.ToBatchCommand());
                await using var reader = await command.ExecuteReaderAsync();
                foreach (var pending in batch)
                {
                    await pending.ReadAsync(reader);
                    await reader.NextResultAsync();
                }
            }
            // Disposed: PostgreSQL has answered the batch's Sync, so its implicit transaction has committed.
            foreach (var pending in batch) pending.Complete();
        }
        catch (PostgresException)
        {
            // One statement's error rolled the others back with it: run each alone, so only the one at fault fails.
            foreach (var pending in batch) await RunAloneAsync(pending);
        }
        catch (Exception e)
        {
            foreach (var pending in batch) pending.Fail(e);
        }
    }

    private async Task RunAloneAsync(Pending pending)
    {
        try
        {
            await using (var command = pending.ToCommand(dataSource))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                await pending.ReadAsync(reader);
            }
            pending.Complete();
        }
        catch (Exception e)
        {
            pending.Fail(e);
        }
    }

    /// <summary>A positional parameter's value, and its PostgreSQL type where Npgsql would not infer it (JSONB).</summary>
    public readonly record struct Parameter(object Value, NpgsqlDbType? Type = null)
    {
        public static implicit operator Parameter(string value) => new(value);
        public static implicit operator Parameter(long value) => new(value);
        public static implicit operator Parameter(int value) => new(value);

        public static Parameter Jsonb(string json) => new(json, NpgsqlDbType.Jsonb);

        public static Parameter OrNull(object? value) => new(value ?? DBNull.Value);

        public NpgsqlParameter ToNpgsql() => Type is { } type ? new NpgsqlParameter { NpgsqlDbType = type, Value = Value } : new NpgsqlParameter { Value = Value };
    }

    private abstract class Pending(string sql, Parameter[] parameters)
    {
        public NpgsqlBatchCommand ToBatchCommand()
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var parameter in parameters) command.Parameters.Add(parameter.ToNpgsql());
            return command;
        }

        public NpgsqlCommand ToCommand(NpgsqlDataSource source)
        {
            var command = source.CreateCommand(sql);
            foreach (var parameter in parameters) command.Parameters.Add(parameter.ToNpgsql());
            return command;
        }

        public abstract Task ReadAsync(NpgsqlDataReader reader);

        public abstract void Complete();

        public abstract void Fail(Exception error);
    }

    private sealed class Pending<T>(string sql, Parameter[] parameters, Func<NpgsqlDataReader, Task<T>> read) : Pending(sql, parameters)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _done.Task;

        public override async Task ReadAsync(NpgsqlDataReader reader) => _result = await read(reader);

        public override void Complete() => _done.TrySetResult(_result!);

        public override void Fail(Exception error) => _done.TrySetException(error);
    }
}
