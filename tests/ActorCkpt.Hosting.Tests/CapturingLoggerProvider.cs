using Microsoft.Extensions.Logging;

namespace ActorCkpt.Hosting.Tests;

/// <summary>An ILogger provider that keeps every line logged through it and lets a test wait for a line.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public sealed record Line(string Category, LogLevel Level, string Message);

    private readonly object _lock = new();
    private readonly List<Line> _lines = new();
    private readonly List<(Func<Line, bool> Match, TaskCompletionSource<Line> Seen)> _waiters = new();

    /// <summary>Completes with the first line (logged before or after this call) that <paramref name="match"/> accepts.</summary>
    public Task<Line> WaitFor(Func<Line, bool> match)
    {
        lock (_lock)
        {
            if (_lines.FirstOrDefault(match) is { } line) return Task.FromResult(line);
            var seen = new TaskCompletionSource<Line>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, seen));
            return seen.Task;
        }
    }

    /// <summary>Every line logged so far.</summary>
    public IReadOnlyList<Line> Lines
    {
        get
        {
            lock (_lock) return _lines.ToArray();
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(Line line)
    {
        lock (_lock)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Add(new Line(category, logLevel, formatter(state, exception)));
    }
}
