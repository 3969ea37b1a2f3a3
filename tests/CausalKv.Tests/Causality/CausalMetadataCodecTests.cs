using System.Text;
using System.Text.Json;
using CausalKv.Causality;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

public sealed class CausalMetadataCodecTests
{
    private const string Cluster = "test-cluster";
    private static readonly byte[] MacKey = CausalMetadataCodec.MacKeyFor("test-key");
    private static readonly CausalMetadataCodec Codec = new(Cluster, MacKey);
    private static readonly CausalMetadataCodec Unsigned = new(Cluster, MacKey, sign: false);

    private static (bool Ok, DependencySet Deps, string? Error) Read(string json, CausalMetadataCodec? codec = null)
    {
        using var doc = JsonDocument.Parse(json);
        var ok = (codec ?? Codec).TryRead(doc.RootElement, out var deps, out var error);
        return (ok, deps, error);
    }

    private static string WriteWithWriter(DependencySet deps)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream)) Codec.Write(w, deps);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static class Arbs
    {
        private static readonly string[] OddKeys = ["x", "y", "ckv", "d", "c", "t", "", "with \"quotes\"", "ключ", "a/b?c=d&e", "\u0001"];

        public static Arbitrary<DependencySet> DependencySet() => Arb.From(
            from n in Gen.Choose(0, 5)
            from entries in Gen.ListOf(
                from key in Gen.Elements(OddKeys)
                from clock in CausalityGen.NonEmptyVector
                from ts in Gen.Elements(0L, 1L, 1_735_689_600_123L, long.MaxValue)
                from node in Gen.Elements(0, 1, 7, int.MaxValue)
                select new KeyValuePair<string, Dependency>(key, new Dependency(clock, new WriteTag(ts, node))), n)
            select CausalKv.Causality.DependencySet.Of(entries),
            CausalityGen.ShrinkDependencySet);
    }

    [Property(Arbitrary = [typeof(Arbs)], MaxTest = 300)]
    public void RoundTrip_GivesAnEqualDependencySet(DependencySet deps)
    {
        foreach (var json in new[] { Codec.ToJson(deps), WriteWithWriter(deps) })
        {
            var (ok, read, error) = Read(json);
            Assert.True(ok, $"{json}: {error}");
            Assert.Null(error);
            Assert.True(deps.SetEquals(read), $"{Show.Deps(deps)} -> {json} -> {Show.Deps(read)}");
        }
        Assert.Equal(Codec.ToJson(deps), WriteWithWriter(deps));
    }

    [Fact]
    public void RoundTrip_ExtremeOriginsAndTags()
    {
        var bigOrigin = OriginId.Create((1 << 22) - 1, (1L << 40) - 1);
        var deps = DependencySet.Empty
            .With("k", new Dependency(VersionVector.Of(new(bigOrigin, long.MaxValue), new(0, 1)), new WriteTag(long.MaxValue, int.MaxValue)))
            .With("j", new Dependency(VersionVector.Of(new VersionVector.Entry(OriginId.Create(3, 17), 2)), WriteTag.Zero));
        var json = Codec.ToJson(deps);
        var (ok, read, error) = Read(json);
        Assert.True(ok, error);
        Assert.True(deps.SetEquals(read));
    }

    [Fact]
    public void Write_IsDeterministic_WhateverTheInsertionOrder()
    {
        var d1 = new Dependency(VersionVector.Of(new VersionVector.Entry(5, 1)), new WriteTag(10, 0));
        var d2 = new Dependency(VersionVector.Of(new(5, 2), new(9, 1)), new WriteTag(11, 1));
        var a = DependencySet.Empty.With("b", d1).With("a", d2);
        var b = DependencySet.Empty.With("a", d2).With("b", d1);
        Assert.Equal(Codec.ToJson(a), Codec.ToJson(b));
        Assert.Equal("""{"ckv":"test-cluster","d":{"a":{"c":{"5":2,"9":1},"t":[11,1]},"b":{"c":{"5":1},"t":[10,0]}},"h":[11,1]}""", Unsigned.ToJson(a));
        Assert.Matches("""^\{"ckv":"test-cluster","d":\{.*\},"h":\[11,1\],"m":"[A-Za-z0-9_-]{22}"\}$""", Codec.ToJson(a));
    }

    [Fact]
    public void EmptySet_IsWrittenAsEmptyObject()
    {
        Assert.Equal("{}", Codec.ToJson(DependencySet.Empty));
        Assert.Equal("{}", WriteWithWriter(DependencySet.Empty));
    }

    [Fact]
    public void A_pruned_set_keeps_its_highest_tag_signed_and_a_changed_tag_is_refused()
    {
        var d = new Dependency(VersionVector.Of(new VersionVector.Entry(5, 1)), new WriteTag(1234, 2));
        var pruned = DependencySet.Empty.With("x", d).Prune((_, _) => true);
        var json = Codec.ToJson(pruned);
        Assert.Matches("""^\{"ckv":"test-cluster","d":\{\},"h":\[1234,2\],"m":"[A-Za-z0-9_-]{22}"\}$""", json);
        var (ok, read, error) = Read(json);
        Assert.True(ok, error);
        Assert.True(read.IsEmpty);
        Assert.Equal(new WriteTag(1234, 2), read.HighestTag);

        // Raising the tag would let a session's writes win over writes it never saw: the MAC covers it.
        var (forgedOk, _, forgedError) = Read(json.Replace("[1234,2]", "[99999999,2]"));
        Assert.False(forgedOk);
        Assert.Contains("integrity", forgedError);
        var (brokenOk, _, brokenError) = Read(json.Replace("[1234,2]", "\"soon\""));
        Assert.False(brokenOk);
        Assert.Contains("'h'", brokenError);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("""{"ckv":"test-cluster"}""")]
    [InlineData("""{"ckv":"test-cluster","d":{}}""")]
    public void EmptyOrNull_MeansNoDependencies(string json)
    {
        var (ok, deps, error) = Read(json);
        Assert.True(ok, error);
        Assert.Null(error);
        Assert.True(deps.IsEmpty);
    }

    [Fact]
    public void MissingMetadata_MeansNoDependencies()
    {
        Assert.True(Codec.TryRead(default, out var deps, out var error));
        Assert.Null(error);
        Assert.True(deps.IsEmpty);
    }

    [Fact]
    public void ForeignClusterId_IsRefused()
    {
        var d = new Dependency(VersionVector.Of(new VersionVector.Entry(5, 1)), new WriteTag(1, 0));
        var json = new CausalMetadataCodec("another-cluster", MacKey).ToJson(DependencySet.Empty.With("x", d));
        var (ok, deps, error) = Read(json);
        Assert.False(ok);
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Contains("another cluster", error);
        Assert.True(deps.IsEmpty);
        // while the issuing cluster accepts it
        Assert.True(Read(json, new CausalMetadataCodec("another-cluster", MacKey)).Ok);
    }

    [Fact]
    public void ClusterIdFor_IsStable_AndDiffersPerKey()
    {
        Assert.Equal(CausalMetadataCodec.ClusterIdFor("k1"), CausalMetadataCodec.ClusterIdFor("k1"));
        Assert.NotEqual(CausalMetadataCodec.ClusterIdFor("k1"), CausalMetadataCodec.ClusterIdFor("k2"));
        Assert.Equal(CausalMetadataCodec.ClusterIdFor(null), CausalMetadataCodec.ClusterIdFor(""));
        Assert.Equal(16, CausalMetadataCodec.ClusterIdFor("k1").Length);
    }

    private const string ValidEntry = """{"c":{"5":1},"t":[1,0]}""";

    private static string WithEntry(string entry) => $$$"""{"ckv":"test-cluster","d":{"x":{{{entry}}}}}""";

    /// <summary>The base the broken cases are mutated from is itself accepted.</summary>
    [Theory]
    [InlineData("""{"c":{"5":1},"t":[1,0]}""")]
    [InlineData("""{"c":{"5":1,"4398046511104":3},"t":[1735689600000,2]}""")]
    [InlineData("""{"t":[0,0],"c":{"0":7}}""")]
    public void ValidEntries_AreAccepted(string entry)
    {
        var (ok, deps, error) = Read(WithEntry(entry), Unsigned);
        Assert.True(ok, error);
        Assert.Equal(1, deps.Count);
        Assert.NotNull(deps["x"]);
    }

    public static TheoryData<string, string> BrokenMetadata => new()
    {
        { "not an object: array", "[]" },
        { "not an object: string", "\"abc\"" },
        { "not an object: number", "42" },
        { "not an object: bool", "true" },
        { "missing ckv", $$$"""{"d":{"x":{{{ValidEntry}}}}}""" },
        { "ckv not a string", $$$"""{"ckv":1,"d":{"x":{{{ValidEntry}}}}}""" },
        { "unknown field", $$$"""{"ckv":"test-cluster","d":{"x":{{{ValidEntry}}}},"extra":1}""" },
        { "unknown field only", """{"ckv":"test-cluster","deps":{}}""" },
        { "d not an object: array", """{"ckv":"test-cluster","d":[]}""" },
        { "d not an object: number", """{"ckv":"test-cluster","d":1}""" },
        { "d not an object: null", """{"ckv":"test-cluster","d":null}""" },
        { "entry not an object", WithEntry("1") },
        { "entry without c", WithEntry("""{"t":[1,0]}""") },
        { "entry without t", WithEntry("""{"c":{"5":1}}""") },
        { "c not an object", WithEntry("""{"c":[1],"t":[1,0]}""") },
        { "c empty", WithEntry("""{"c":{},"t":[1,0]}""") },
        { "t not an array", WithEntry("""{"c":{"5":1},"t":1}""") },
        { "t empty", WithEntry("""{"c":{"5":1},"t":[]}""") },
        { "t of length 1", WithEntry("""{"c":{"5":1},"t":[1]}""") },
        { "t of length 3", WithEntry("""{"c":{"5":1},"t":[1,0,0]}""") },
        { "t negative timestamp", WithEntry("""{"c":{"5":1},"t":[-1,0]}""") },
        { "t negative node", WithEntry("""{"c":{"5":1},"t":[1,-1]}""") },
        { "t fractional timestamp", WithEntry("""{"c":{"5":1},"t":[1.5,0]}""") },
        { "t node too big", WithEntry("""{"c":{"5":1},"t":[1,4294967296]}""") },
        { "t timestamp a string", WithEntry("""{"c":{"5":1},"t":["1",0]}""") },
        { "t node a string", WithEntry("""{"c":{"5":1},"t":[1,"0"]}""") },
        { "t timestamp null", WithEntry("""{"c":{"5":1},"t":[null,0]}""") },
        { "t node an object", WithEntry("""{"c":{"5":1},"t":[1,{}]}""") },
        { "zero seq", WithEntry("""{"c":{"5":0},"t":[1,0]}""") },
        { "negative seq", WithEntry("""{"c":{"5":-3},"t":[1,0]}""") },
        { "fractional seq", WithEntry("""{"c":{"5":1.5},"t":[1,0]}""") },
        { "seq a string", WithEntry("""{"c":{"5":"1"},"t":[1,0]}""") },
        { "non-numeric origin", WithEntry("""{"c":{"abc":1},"t":[1,0]}""") },
        { "negative origin", WithEntry("""{"c":{"-5":1},"t":[1,0]}""") },
        { "origin with spaces", WithEntry("""{"c":{" 5":1},"t":[1,0]}""") },
        { "origin in exponent form", WithEntry("""{"c":{"5e2":1},"t":[1,0]}""") },
        { "a key twice", """{"ckv":"test-cluster","d":{"a":""" + ValidEntry + ""","a":""" + ValidEntry + """}}""" },
        { "an origin twice in one clock", WithEntry("""{"c":{"5":1,"5":2},"t":[1,0]}""") },
        { "d twice", $$$"""{"ckv":"test-cluster","d":{"x":{{{ValidEntry}}}},"d":{"y":{{{ValidEntry}}}}}""" },
        { "a lone surrogate in a key", """{"ckv":"test-cluster","d":{"\ud800":""" + ValidEntry + """}}""" },
        { "a lone surrogate in the cluster id", """{"ckv":"\udc00","d":{"x":""" + ValidEntry + """}}""" },
        { "one bad entry among good ones", """{"ckv":"test-cluster","d":{"a":""" + ValidEntry + ""","b":{"c":{"5":0},"t":[1,0]}}}""" },
    };

    [Theory]
    [MemberData(nameof(BrokenMetadata))]
    public void BrokenMetadata_IsRefused_WithAClearError(string what, string json)
    {
        bool ok;
        DependencySet deps;
        string? error;
        try
        {
            (ok, deps, error) = Read(json, Unsigned);
            Assert.False(ok, $"{what}: accepted {json} by its structure alone");
            (ok, deps, error) = Read(json);
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: TryRead threw {e.GetType().Name} ({e.Message}) instead of refusing {json}");
            return;
        }
        Assert.False(ok, $"{what}: accepted {json}");
        Assert.False(string.IsNullOrWhiteSpace(error), $"{what}: refused without an error message");
        Assert.True(deps.IsEmpty, $"{what}: refused but returned dependencies");
    }

    private static Dependency Dep(long origin, long seq, long ts, int node) =>
        new(VersionVector.Of(new VersionVector.Entry(origin, seq)), new WriteTag(ts, node));

    [Fact]
    public void Mac_RefusesAlteredOrInventedDependencies_AndNamesTheProblem()
    {
        var deps = DependencySet.Empty.With("x", Dep(5, 3, 100, 1)).With("y", Dep(6, 1, 90, 2));
        var json = Codec.ToJson(deps);
        Assert.True(Read(json).Ok);

        var tampered = new[]
        {
            json.Replace("\"5\":3", "\"5\":4", StringComparison.Ordinal),     // a later dot than was written
            json.Replace("[100,1]", "[101,1]", StringComparison.Ordinal),         // a higher tag
            json.Replace("\"y\":", "\"z\":", StringComparison.Ordinal),       // the dependency moved to another key
            json.Replace(",\"m\":", ",\"d2\":0,\"m\":", StringComparison.Ordinal), // a field nobody wrote
            Unsigned.ToJson(deps),                                                 // no MAC at all
            Unsigned.ToJson(deps.With("w", Dep(7, 1, 1, 0))).Replace("}}}", "}},\"m\":\"" + MacOf(json) + "\"}", StringComparison.Ordinal), // an invented entry under an old MAC
            new CausalMetadataCodec(Cluster, CausalMetadataCodec.MacKeyFor("another key")).ToJson(deps), // signed under another key
            json.Replace(MacOf(json), MacOf(json)[..21] + (MacOf(json)[21] == 'A' ? 'B' : 'A'), StringComparison.Ordinal),
            json.Replace(MacOf(json), MacOf(json)[..20], StringComparison.Ordinal),
            json.Replace("\"" + MacOf(json) + "\"", "12", StringComparison.Ordinal),
        };
        foreach (var t in tampered)
        {
            Assert.NotEqual(json, t);
            var (ok, read, error) = Read(t);
            Assert.False(ok, $"accepted {t}");
            Assert.True(read.IsEmpty);
            Assert.False(string.IsNullOrWhiteSpace(error));
        }
        var (_, _, integrity) = Read(json.Replace("\"5\":3", "\"5\":4", StringComparison.Ordinal));
        Assert.Contains("integrity", integrity);
    }

    [Fact]
    public void Mac_SurvivesReserialization_AsJsonLibrariesDo()
    {
        var deps = DependencySet.Empty.With("x", Dep(5, 3, 100, 1)).With("ключ", Dep(6, 1, 90, 2));
        var json = Codec.ToJson(deps);
        // Spacing, field order and escaping change; the dependencies do not.
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        var reordered = new System.Text.Json.Nodes.JsonObject
        {
            ["m"] = node["m"]!.DeepClone(),
            ["d"] = node["d"]!.DeepClone(),
            ["ckv"] = node["ckv"]!.DeepClone(),
        };
        var pretty = reordered.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var (ok, read, error) = Read(pretty);
        Assert.True(ok, error);
        Assert.True(deps.SetEquals(read));
    }

    [Theory]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("AAAA")]
    [InlineData("")]
    public void A_mac_that_is_not_22_base64url_characters_is_refused_never_thrown(string mac)
    {
        var (ok, deps, error) = Read("""{"ckv":"test-cluster","d":{"x":""" + ValidEntry + $$"""},"m":"{{mac}}"}""");
        Assert.False(ok);
        Assert.Contains("integrity", error);
        Assert.True(deps.IsEmpty);
    }

    [Fact]
    public void Mac_SurvivesEntriesAndOriginsInAnotherOrder()
    {
        var deps = DependencySet.Empty
            .With("b", new Dependency(VersionVector.Of(new VersionVector.Entry(9, 1), new VersionVector.Entry(10, 4)), new WriteTag(5, 1)))
            .With("a", Dep(5, 3, 100, 1)).With("ключ", Dep(6, 1, 90, 2));
        var node = System.Text.Json.Nodes.JsonNode.Parse(Codec.ToJson(deps))!.AsObject();
        // As a library that sorts names as text would write it: "10" before "9", keys in reverse.
        var d = new System.Text.Json.Nodes.JsonObject();
        foreach (var (key, entry) in node["d"]!.AsObject().Reverse())
        {
            var clock = new System.Text.Json.Nodes.JsonObject();
            foreach (var (origin, seq) in entry!["c"]!.AsObject().OrderBy(e => e.Key, StringComparer.Ordinal)) clock[origin] = seq!.DeepClone();
            d[key] = new System.Text.Json.Nodes.JsonObject { ["t"] = entry["t"]!.DeepClone(), ["c"] = clock };
        }
        node["d"] = d;
        var (ok, read, error) = Read(node.ToJsonString());
        Assert.True(ok, error);
        Assert.True(deps.SetEquals(read), Show.Deps(read));
    }

    private static DependencySet ManyDependencies(int count)
    {
        var entries = Enumerable.Range(0, count).Select(i =>
            new KeyValuePair<string, Dependency>($"key-{i}", Dep(1000 + i % 7, i + 1, 1_735_689_600_000 + i, i % 5)));
        return DependencySet.Of(entries);
    }

    [Fact]
    public void Metadata_at_the_limits_is_read_and_past_them_refused_as_too_large_before_its_mac_is_checked()
    {
        var deps = ManyDependencies(500);
        var json = Codec.ToJson(deps);
        var bytes = Encoding.UTF8.GetByteCount(json);
        using var doc = JsonDocument.Parse(json);

        Assert.True(Codec.TryRead(doc.RootElement, new MetadataLimits(500, bytes), out var read, out var error, out var tooLarge), error);
        Assert.False(tooLarge);
        Assert.True(deps.SetEquals(read));

        Assert.False(Codec.TryRead(doc.RootElement, new MetadataLimits(499, bytes), out read, out error, out tooLarge));
        Assert.True(tooLarge);
        Assert.Contains("more than 499 dependencies", error);
        Assert.True(read.IsEmpty);

        Assert.False(Codec.TryRead(doc.RootElement, new MetadataLimits(500, bytes - 1), out read, out error, out tooLarge));
        Assert.True(tooLarge);
        Assert.Contains($"{bytes} bytes", error);

        // Forged metadata past a limit is refused for its size: what it claims is never looked at.
        var forged = json.Replace("\"m\":\"", "\"m\":\"A", StringComparison.Ordinal);
        using var forgedDoc = JsonDocument.Parse(forged);
        Assert.False(Codec.TryRead(forgedDoc.RootElement, new MetadataLimits(10, int.MaxValue), out _, out _, out tooLarge));
        Assert.True(tooLarge);
    }

    [Fact]
    public void Forged_metadata_with_many_dependencies_fails_its_integrity_check_within_the_limits()
    {
        var genuine = ManyDependencies(5_000);
        var json = Codec.ToJson(genuine);
        Assert.True(Read(json).Ok);
        // One dependency changed among thousands: the flat check finds it before any set is built.
        var forged = json.Replace("\"key-4321\":{\"c\":{", "\"key-4321\":{\"c\":{\"1\":99999,", StringComparison.Ordinal);
        Assert.NotEqual(json, forged);
        var (ok, deps, error) = Read(forged);
        Assert.False(ok);
        Assert.Contains("integrity", error);
        Assert.True(deps.IsEmpty);
        Assert.True(MetadataLimits.Default.MaxDependencies >= 5_000);
    }

    [Fact]
    public void Unsigned_NeitherWritesNorChecksAMac()
    {
        var deps = DependencySet.Empty.With("x", Dep(5, 3, 100, 1));
        Assert.DoesNotContain("\"m\"", Unsigned.ToJson(deps));
        var forged = Unsigned.ToJson(deps).Replace("\"5\":3", "\"5\":4", StringComparison.Ordinal);
        Assert.True(Read(forged, Unsigned).Ok);
        Assert.False(Read(forged).Ok);
    }

    [Fact]
    public void ForCluster_DerivesIdAndMacKeyFromTheClusterKey()
    {
        var deps = DependencySet.Empty.With("x", Dep(5, 3, 100, 1));
        var a = CausalMetadataCodec.ForCluster("k1");
        Assert.True(a.TryRead(JsonDocument.Parse(CausalMetadataCodec.ForCluster("k1").ToJson(deps)).RootElement, out _, out _));
        Assert.False(a.TryRead(JsonDocument.Parse(CausalMetadataCodec.ForCluster("k2").ToJson(deps)).RootElement, out _, out _));
        Assert.NotEqual(CausalMetadataCodec.MacKeyFor("k1"), CausalMetadataCodec.MacKeyFor("k2"));
        Assert.Equal(32, CausalMetadataCodec.MacKeyFor(null).Length);
    }

    private static string MacOf(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!["m"]!.GetValue<string>();
}
