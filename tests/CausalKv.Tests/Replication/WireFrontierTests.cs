using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;

namespace CausalKv.Tests.Replication;

/// <summary>
/// Frontiers in peer messages and in the legacy log are the JSON object a dictionary of origin to sequence number made:
/// a node reads what an older node sent or wrote, and an older node reads what this one sends.
/// </summary>
public sealed class WireFrontierTests
{
    private const long Origin = (7L << 32) | 3;

    [Fact]
    public void A_digest_as_older_nodes_sent_it_reads_with_every_frontier()
    {
        var json = $$"""
            {"from":1,"epoch":2,"origin":{{Origin}},"applied":{"{{Origin}}":12,"1":4},"foreign":{"5":6},"fenceEpoch":2,
             "handoffReports":[{"shard":"s0","node":1,"requires":{"7":3},"to":"s1"}]}
            """;

        var digest = JsonSerializer.Deserialize(json, WireJsonContext.Default.GossipDigest)!;

        Assert.Equal(Frontier.Empty.With(Origin, 12).With(1, 4), digest.Applied);
        Assert.Equal(Frontier.Empty.With(5, 6), digest.Foreign);
        Assert.Equal(Frontier.Empty.With(7, 3), digest.HandoffReports![0].ToReport().Requires);
    }

    [Fact]
    public void A_digest_sends_the_same_object_a_dictionary_made_and_leaves_out_what_it_lacks()
    {
        var digest = new GossipDigest { From = 1, Epoch = 2, Origin = 3, Applied = Frontier.Empty.With(Origin, 12).With(1, 4) };

        var json = JsonSerializer.Serialize(digest, WireJsonContext.Default.GossipDigest);
        using var parsed = JsonDocument.Parse(json);

        var applied = JsonSerializer.Deserialize<Dictionary<long, long>>(parsed.RootElement.GetProperty("applied").GetRawText());
        Assert.Equal(new Dictionary<long, long> { [Origin] = 12, [1] = 4 }, applied);
        Assert.False(parsed.RootElement.TryGetProperty("foreign", out _));
        Assert.Null(JsonSerializer.Deserialize(json, WireJsonContext.Default.GossipDigest)!.Foreign);
    }

    [Fact]
    public void Optional_frontiers_of_pushes_and_handoffs_stay_absent_when_not_sent()
    {
        var push = JsonSerializer.Deserialize("""{"from":1,"epoch":2,"ranges":[],"versions":[]}""", WireJsonContext.Default.ReplicationMessage)!;
        var last = JsonSerializer.Deserialize("""{"from":1,"epoch":2,"snapshotApplied":{"9":2}}""", WireJsonContext.Default.ReplicationMessage)!;
        var handoff = JsonSerializer.Deserialize("""{"from":1,"fromShard":"s0","epoch":2,"complete":true,"sourceStable":{"4":8}}""",
            HandoffJsonContext.Default.HandoffMessage)!;

        Assert.Null(push.SnapshotApplied);
        Assert.Equal(Frontier.Empty.With(9, 2), last.SnapshotApplied);
        Assert.Equal(Frontier.Empty.With(4, 8), handoff.SourceStable);
        Assert.Null(handoff.Requires);
        Assert.DoesNotContain("requires", JsonSerializer.Serialize(handoff, HandoffJsonContext.Default.HandoffMessage), StringComparison.Ordinal);
    }

    [Fact]
    public void The_legacy_log_reads_frontier_records_as_older_nodes_wrote_them()
    {
        var directory = Directory.CreateTempSubdirectory("causalkv-wal-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, WriteAheadLog.FileName),
                $$$"""{"a":{"{{{Origin}}}":12,"1":4}}""" + "\n" + """{"a":{"1":7}}""" + "\n");
            using var log = new WriteAheadLog(directory);

            var (_, applied, torn) = log.Replay();
            log.Applied(Frontier.Empty.With(2, 5));
            log.Commit();

            Assert.False(torn);
            Assert.Equal(Frontier.Empty.With(Origin, 12).With(1, 7), applied);
            Assert.Equal("""{"a":{"2":5}}""", File.ReadAllLines(Path.Combine(directory, WriteAheadLog.FileName))[^1]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
