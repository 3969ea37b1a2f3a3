using Microsoft.Diagnostics.Tracing.Etlx;

namespace CausalKv.TraceStages;

/// <summary>
/// The stages of a node's request path, each named by the frames that belong to it. A stack is charged to the innermost
/// frame that matches a stage (leaf first), so a RocksDB put under ReplicaStore.Write is storage and the pruning
/// callback under it is stability; a stack with no such frame is charged by its framework frames (Kestrel, sockets, ...).
/// </summary>
internal static class Stages
{
    /// <summary>(stage, substrings of a frame's "Namespace.Type.Method"), tried in this order on each frame.</summary>
    private static readonly (string Stage, string[] Frames)[] Rules =
    [
        ("MAC (HMAC-SHA256)", ["System.Security.Cryptography.HMAC", "System.Security.Cryptography.HashProvider", "Interop+Crypto.Hmac", "Interop+Crypto.EvpDigest"]),
        ("stability and pruning", ["ReplicationCoordinator.IsStable", "DependencySet.Prune", "ShardStability", "ReplicationCoordinator.RecomputeStable",
            "ReplicationCoordinator.OnPeer", "ReplicaStore.TrimLogs", "PollRemoteFrontiers", "CausalKv.Causality.Frontier", "FrontierBuilder", "IsCoveredBy"]),
        ("storage (RocksDB, version codec)", ["RocksDbSharp", "RocksDbVersionTable", "VersionRecordCodec", "RecordWriter", "RecordReader", "DependencyNodeWriter",
            "DependencyTrie", "WriteAheadLog", "DurabilitySync", "WhenDurable"]),
        ("replication in (apply a peer's batch)", ["PeerEndpoints", "InternalApi", "ReplicaStore.Apply", "ReplicaStore.Merge", "ReplicationCoordinator.Receive",
            "ReplicationCoordinator.Replicate", "WireVersion.ToStored", "WireDependency"]),
        ("replication out (push to the peer)", ["PeerLink.PushLoop", "PeerLink.SendAsync", "PeerLink.NextMessage", "PeerLink+<PushLoop", "PeerLink+<SendAsync",
            "ReplicaStore.Diff", "PeerClient", "ReplicationCoordinator.ToMessage", "WireVersion.From", "OutgoingBatch"]),
        ("gossip and frontier polls", ["PeerLink.Gossip", "PeerLink+<Gossip", "ReplicationCoordinator.Digest", "ReplicationCoordinator.Gossip"]),
        ("metadata read (parse, check)", ["CausalMetadataCodec.TryRead", "CausalMetadataCodec+", "CausalMetadataCodec.Read", "CausalMetadataCodec.Verify",
            "CausalMetadataCodec.Canonical", "CausalMetadataCodec.Mac"]),
        ("answer's metadata (encode)", ["JsonResponses.Metadata", "CausalMetadataCodec.Write", "CausalMetadataCodec.Encode"]),
        ("dependencies (join, rebase, clocks)", ["DependencySet", "CausalRead", "VersionVector", "StoredVersion", "ReplicaStore.Share", "Dependency.", "WriteTag"]),
        ("store write (lock, key log, frontier)", ["ReplicaStore.Write", "OriginLog", "ChangeSignal", "ReplicaStore"]),
        ("request body read and JSON parse", ["RequestBody", "DataEndpoints.ReadChecked", "DataEndpoints+<ReadChecked", "DataEndpoints.ReadAsync", "DataEndpoints+<ReadAsync",
            "BoundedBody", "LargeRequestGate"]),
        ("answer write (JSON, headers)", ["JsonResponses", "DataEndpoints.AnswerAsync", "DataEndpoints+<AnswerAsync"]),
        ("endpoint and decision", ["CausalKv.Node.Api", "CausalWaiter", "ReadGate", "ClusterState", "HandoffFence", "Membership"]),
        ("telemetry (activities, metrics, logs)", ["OpenTelemetry", "System.Diagnostics.Activity", "System.Diagnostics.Metrics", "CausalKv.Node.Telemetry",
            "Microsoft.Extensions.Logging"]),
        ("other node code", ["CausalKv."]),
        ("HTTP client (System.Net.Http)", ["System.Net.Http"]),
        ("HTTP server (Kestrel, ASP.NET Core)", ["Microsoft.AspNetCore"]),
        (Sockets, ["System.Net.Sockets", "System.IO.Pipelines", "System.Net.Security"]),
        ("thread pool, tasks, timers", ["System.Threading"]),
        ("JIT, type loading, GC from managed", ["System.Runtime", "System.RuntimeType", "System.GC"]),
    ];

    /// <summary>The stages in table order.</summary>
    public static IEnumerable<string> Names => Rules.Select(r => r.Stage).Append(Other);

    public const string Other = "other (runtime, unresolved)";

    public const string Sockets = "socket sends and receives (syscalls, loopback TCP)";

    /// <summary>Frames that mean the thread sleeps in a wait: the sample profiler samples those threads too.</summary>
    private static readonly string[] WaitLeaves =
    [
        "WaitHandle.Wait", "LowLevelLifoSemaphore.Wait", "LowLevelMonitor.Wait", "LowLevelSemaphore", "Monitor.Wait", "Thread.Sleep", "WaitForSocketEvents",
        "SocketAsyncEngine.EventLoop", "ManualResetEventSlim.Wait", "SemaphoreSlim.Wait", "Thread.Join", "WaitSubsystem", "Interop+Sys.Poll",
        "Interop+Sys.Read", "Interop+Sys.WaitPid", "Interop+Sys.ReadStdin", "Task.SpinThenBlockingWait", "Task.InternalWaitCore", "PortableThreadPool+GateThread",
        "WaitHandle.WaitOneNoCheck", "LowLevelLock.Wait", "Interop+Sys.LowLevelMonitor_Wait", "Interop+Sys.LowLevelMonitor_TimedWait", "Console",
        "FileSystemWatcher", "Interop+Sys.ReadEvents", "TimerQueue.TimerThread", "WaitOne", "Interop+Sys.SchedYield",
    ];

    /// <summary>A frame without its parameter list.</summary>
    public static string Short(string frame) => frame.IndexOf('(') is var i and > 0 ? frame[..i] : frame;

    /// <summary>The stack's frames as "Namespace.Type.Method", leaf first.</summary>
    public static List<string> Frames(TraceCallStack? stack)
    {
        var frames = new List<string>();
        for (var s = stack; s is not null; s = s.Caller)
        {
            var method = s.CodeAddress.FullMethodName;
            frames.Add(string.IsNullOrEmpty(method) ? s.CodeAddress.ModuleName + "!?" : method);
        }
        return frames;
    }

    /// <summary>Why a sampled thread was off a CPU, by its innermost frames.</summary>
    public enum Waiting { No, Idle, Lock, Gc }

    /// <summary>
    /// What the innermost frames say: an idle pool thread (its native wait leaves WorkerThreadStart as the leaf) or any
    /// other wait, a thread blocked entering a contended lock (Monitor.Enter_Slowpath), one stopped until a GC ends.
    /// </summary>
    public static Waiting Wait(List<string> frames)
    {
        if (frames.Count == 0) return Waiting.Idle;
        var leaf = frames[0];
        if (leaf.Contains("Monitor.Enter_Slowpath", StringComparison.Ordinal)) return Waiting.Lock;
        if (leaf.Contains("PollGC", StringComparison.Ordinal)) return Waiting.Gc;
        if (leaf.Contains("WorkerThreadStart", StringComparison.Ordinal) || leaf.Contains("Thread.StartCallback", StringComparison.Ordinal)) return Waiting.Idle;
        return frames.Take(3).Any(f => WaitLeaves.Any(w => f.Contains(w, StringComparison.Ordinal))) ? Waiting.Idle : Waiting.No;
    }

    public static string Of(List<string> frames)
    {
        foreach (var frame in frames)
            foreach (var (stage, names) in Rules)
                if (names.Any(n => frame.Contains(n, StringComparison.Ordinal)))
                    return stage;
        return Other;
    }
}
