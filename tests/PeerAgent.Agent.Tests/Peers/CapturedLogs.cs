using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Agent.Tests.Peers;

/// <summary>Records Warning and above from every category of a test host, so a test can require that none is an error.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, EventId EventId, string Message)> Entries { get; } = new();

    /// <summary>Error and Critical entries, formatted with their category and exception.</summary>
    public IReadOnlyList<string> Errors =>
        [.. Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Level} {e.Category} ({e.EventId}): {e.Message}")];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Entries.Enqueue((logLevel, category, eventId, $"{formatter(state, exception)} {exception}"));
            }
        }
    }
}
