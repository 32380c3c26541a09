using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerAgent.Core.Tests.TestSupport;

/// <summary>Records log entries so tests can assert on them; Error and above are never expected from the store.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, EventId EventId, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception)));

    public bool Has(int eventId)
    {
        foreach (var entry in Entries)
        {
            if (entry.EventId.Id == eventId)
            {
                return true;
            }
        }

        return false;
    }
}
