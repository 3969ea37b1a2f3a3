using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Node.Api;

/// <summary>
/// Lets a bounded number of large requests (a body over <see cref="Threshold"/> bytes, or of unknown length) be read,
/// parsed and checked at once: one fewer than the machine's cores, at least one. Reading a body of megabytes, parsing
/// it and checking its metadata's MAC is the costliest thing a client without the cluster key can make a node do;
/// with the gate, clients that loop on such requests (forged metadata of 60,000 dependencies, say) take at most that
/// share of the CPU and buffer at most that many bodies, and every small request, which never waits here, keeps the
/// rest. Large requests wait their turn without being read (the kernel's socket buffers hold the sender back).
/// </summary>
public sealed class LargeRequestGate
{
    public const int Threshold = 64 * 1024;

    private readonly SemaphoreSlim _slots = new(Width, Width);

    public static int Width { get; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>Whether the request's body may be large enough to wait for a slot.</summary>
    public static bool IsLarge(HttpRequest request)
    {
        if (request.ContentLength is { } length) return length > Threshold;
        return request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
    }

    /// <summary>Takes a slot for a large request (released by disposing the result); nothing for a small one.</summary>
    public async ValueTask<Slot> EnterAsync(HttpRequest request, CancellationToken ct)
    {
        if (!IsLarge(request)) return default;
        await _slots.WaitAsync(ct);
        return new Slot(_slots);
    }

    public readonly struct Slot(SemaphoreSlim? slots) : IDisposable
    {
        public void Dispose() => slots?.Release();
    }
}
