using Microsoft.Extensions.Logging;

namespace CausalKv.Tests.Simulation;

/// <summary>A simulated node's log: what the node logs at Information and above goes into the run's trace, with its simulated time.</summary>
internal sealed class TraceLoggerProvider(int node, SimulatedNetwork network, SimulationTrace trace) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(node, network, trace);

    public void Dispose() { }

    private sealed class Logger(int node, SimulatedNetwork network, SimulationTrace trace) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            trace.Add(network.Now, $"node {node}: {formatter(state, exception)}" + (exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})"));
        }
    }
}
