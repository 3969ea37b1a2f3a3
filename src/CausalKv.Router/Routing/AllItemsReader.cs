using System.Diagnostics;
using System.Net;
using CausalKv.Causality;
using CausalKv.Protocol;
using CausalKv.Router.Discovery;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Routing;

/// <summary>
/// <c>GET /data</c> for the whole cluster: asks one replica of every shard at once, with the client's metadata
/// (body and <c>X-Causal-Metadata</c> header), under the same failover rules as single-key requests, and merges the
/// answers with <see cref="AllItemsMerge"/>. Returns null when the client went away.
/// </summary>
internal sealed class AllItemsReader(
    ViewTracker views, NodeTransport transport, ReplicaFailover failover, CausalMetadataCodec codec, IOptions<RouterOptions> options)
{
    public const string MetadataHeader = ProtocolHeaders.CausalMetadata;
    private readonly TimeSpan _timeout = options.Value.ForwardActivityTimeout;
    private readonly UnpagedCaps _caps = new(options.Value.MaxUnpagedItems, options.Value.MaxUnpagedBytes);

    public async Task<MergedAnswer?> ReadAsync(HttpRequest request, byte[] body)
    {
        var view = views.Current.View;
        if (view is null) return AllItemsMerge.Error(StatusCodes.Status503ServiceUnavailable, null, FailoverResult.NoViewMessage);
        using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.ReadAll);
        activity?.SetTag(RouterTelemetry.Tags.Epoch, view.Epoch);
        var ct = request.HttpContext.RequestAborted;
        var results = await Task.WhenAll(view.ShardNames.Select(shard => AskShardAsync(shard, request, body, "/data", ct)));
        if (ct.IsCancellationRequested || results.Any(r => r.Result.Status == FailoverStatus.Cancelled)) return null;
        var unreachable = results.Where(r => r.Result.Status != FailoverStatus.Answered).OrderBy(r => r.Result.Shard, StringComparer.Ordinal).FirstOrDefault();
        if (unreachable.Result.Error is { } error)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error);
            return AllItemsMerge.Error(StatusCodes.Status503ServiceUnavailable, unreachable.Result.Shard, error);
        }
        // Parsing and merging every shard's items is CPU work proportional to the data: off the socket thread.
        var answers = results.Select(r => r.Answer!).ToArray();
        return await Task.Run(() => AllItemsMerge.Merge(answers, codec, _caps));
    }

    /// <summary>
    /// Sends <c>GET <paramref name="pathAndQuery"/></c> with the client's metadata to a replica of <paramref name="shard"/>,
    /// under the failover rules of reads; the answer, or why there is none.
    /// </summary>
    public async Task<(FailoverResult Result, ShardAnswer? Answer)> AskShardAsync(string shard, HttpRequest request, byte[] body, string pathAndQuery, CancellationToken ct)
    {
        var read = new ShardRead(this, shard, request, body, pathAndQuery, ct);
        var result = await failover.RunAsync(read, ct);
        return (result, read.Answer);
    }

    /// <summary>One attempt at one replica of the shard: taken with <see cref="ShardRead.Answer"/> set, or given up on when the next replica should be asked.</summary>
    private async ValueTask<ReplicaAttempt> SendAsync(ShardRead read, Replica replica)
    {
        var (shard, request, body, ct) = (read.Shard, read.Request, read.Body, read.ClientAborted);
        using var message = new HttpRequestMessage(HttpMethod.Get, replica.BaseUrl + read.PathAndQuery) { Version = HttpVersion.Version11 };
        if (request.Headers.TryGetValue(MetadataHeader, out var metadata))
        {
            message.Headers.TryAddWithoutValidation(MetadataHeader, (IEnumerable<string?>)metadata);
        }
        if (body.Length > 0)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType ?? "application/json");
        }
        var cut = replica.CutToken;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, cut);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await transport.Client.SendAsync(message, timeout.Token);
            if (NodeRequestTransformer.IsNotServing(response))
            {
                failover.ReportFailure(replica, ReplicaAttempt.NotServing.GaveUpBecause!);
                return ReplicaAttempt.NotServing;
            }
            read.Answer = new ShardAnswer(shard, (int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(timeout.Token));
            return ReplicaAttempt.Taken;
        }
        catch (Exception e) when ((ConnectFailure.IsConnectPhase(e) || cut.IsCancellationRequested) && !ct.IsCancellationRequested)
        {
            // Not connected, or cut off while reading: a read is safe to send to the shard's next replica.
            return cut.IsCancellationRequested ? ReplicaAttempt.CutOffDuringRead : ReplicaAttempt.GiveUp($"could not connect ({e.Message})");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            failover.ReportFailure(replica, "GET /data failed or timed out");
            var (status, what) = e is OperationCanceledException
                ? (StatusCodes.Status504GatewayTimeout, $"did not answer within {_timeout.TotalSeconds:0} s")
                : (StatusCodes.Status502BadGateway, $"failed ({e.Message})");
            read.Answer = new ShardAnswer(shard, status, AllItemsMerge.Error(status, shard, $"{replica} {what}").Body);
            return ReplicaAttempt.Taken;
        }
        catch (OperationCanceledException)
        {
            return ReplicaAttempt.Taken;
        }
    }

    private sealed class ShardRead(AllItemsReader owner, string shard, HttpRequest request, byte[] body, string pathAndQuery, CancellationToken clientAborted) : IShardRequest
    {
        public string Shard { get; } = shard;
        public string PathAndQuery { get; } = pathAndQuery;
        public HttpRequest Request { get; } = request;
        public byte[] Body { get; } = body;
        public CancellationToken ClientAborted { get; } = clientAborted;
        public ShardAnswer? Answer { get; set; }

        public string ShardOf(ClusterMap map) => Shard;

        public bool IsRead => true;

        public ValueTask<ReplicaAttempt> SendAsync(Replica replica, string shard) => owner.SendAsync(this, replica);
    }
}
