using System.Text.Json;
using CausalKv.Causality;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

[Properties(MaxTest = 500)]
public sealed class FrontierPropertyTests
{
    // Few origins, so frontiers overlap; seq 0 stands for an origin left out.
    private static Frontier Build(byte[] origins, ushort[] seqs) =>
        Frontier.Of(origins.Zip(seqs, (o, s) => KeyValuePair.Create((long)(o % 6), (long)(s % 50))));

    private static readonly long[] Origins = [0, 1, 2, 3, 4, 5, 6];

    [Property]
    public void Merge_is_commutative(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs)
    {
        var (a, b) = (Build(ao, @as), Build(bo, bs));
        Assert.Equal(a.Merge(b), b.Merge(a));
    }

    [Property]
    public void Merge_is_associative(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs, byte[] co, ushort[] cs)
    {
        var (a, b, c) = (Build(ao, @as), Build(bo, bs), Build(co, cs));
        Assert.Equal(a.Merge(b).Merge(c), a.Merge(b.Merge(c)));
    }

    [Property]
    public void Merge_is_idempotent(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs)
    {
        var (a, b) = (Build(ao, @as), Build(bo, bs));
        Assert.Equal(a, a.Merge(a));
        Assert.Equal(a.Merge(b), a.Merge(b).Merge(b));
    }

    [Property]
    public void Merge_is_the_pointwise_maximum_and_min_the_pointwise_minimum(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs)
    {
        var (a, b) = (Build(ao, @as), Build(bo, bs));
        foreach (var o in Origins)
        {
            Assert.Equal(Math.Max(a.Get(o), b.Get(o)), a.Merge(b).Get(o));
            Assert.Equal(Math.Min(a.Get(o), b.Get(o)), a.Min(b).Get(o));
        }
        Assert.Equal(a.Min(b), b.Min(a));
        Assert.Equal(a.Min(b), Frontier.Minimum([a, b]));
    }

    [Property]
    public void A_merge_covers_both_and_both_cover_their_minimum(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs)
    {
        var (a, b) = (Build(ao, @as), Build(bo, bs));
        Assert.True(a.Merge(b).Covers(a) && a.Merge(b).Covers(b));
        Assert.True(a.Covers(a.Min(b)) && b.Covers(a.Min(b)));
        Assert.Equal(a.Covers(b), a.Merge(b) == a);
        Assert.Equal(a.Covers(b), b.Beyond(a) == 0);
    }

    [Property]
    public void With_sets_one_origin_and_keeps_the_rest(byte[] ao, ushort[] @as, byte origin, ushort seq)
    {
        var a = Build(ao, @as);
        var o = (long)(origin % 7);
        var b = a.With(o, seq % 50);
        foreach (var other in Origins) Assert.Equal(other == o ? seq % 50 : a.Get(other), b.Get(other));
        Assert.Equal(b, Frontier.Of(b.ToDictionary()));
    }

    [Property]
    public void Of_keeps_each_origins_highest_positive_number_in_any_order(byte[] ao, short[] @as)
    {
        var entries = ao.Zip(@as, (o, s) => KeyValuePair.Create((long)(o % 6), (long)(s % 50))).ToArray();
        var a = Frontier.Of(entries);

        foreach (var o in Origins)
            Assert.Equal(entries.Where(e => e.Key == o).Select(e => e.Value).Append(0).Max(), a.Get(o));
        Assert.Equal(a, Frontier.Of(entries.Reverse()));
        Assert.True(a.Select(e => e.Key).SequenceEqual(a.Select(e => e.Key).Order()), "origins are kept sorted");
        Assert.All(a, e => Assert.True(e.Value > 0));
    }

    [Property]
    public void Minimum_is_the_pointwise_minimum_of_any_number(byte[] ao, ushort[] @as, byte[] bo, ushort[] bs, byte[] co, ushort[] cs)
    {
        Frontier[] all = [Build(ao, @as), Build(bo, bs), Build(co, cs)];

        foreach (var n in new[] { 1, 2, 3 })
        {
            var min = Frontier.Minimum(all[..n]);
            foreach (var o in Origins) Assert.Equal(all[..n].Min(f => f.Get(o)), min.Get(o));
            Assert.Equal(all[..n].Aggregate((x, y) => x.Min(y)), min);
        }
    }

    [Property]
    public void A_builder_is_the_merge_of_what_it_was_given(byte[] ao, ushort[] @as, byte[] raises, ushort[] seqs)
    {
        var start = Build(ao, @as);
        var builder = new FrontierBuilder(start);
        var expected = start;
        foreach (var (origin, seq) in raises.Zip(seqs, (o, s) => ((long)(o % 6), (long)(s % 50))))
        {
            var before = builder.ToFrontier();
            var moved = builder.Raise(origin, seq);
            var step = Frontier.Empty.With(origin, seq);

            Assert.Equal(!expected.Covers(step), moved);
            expected = expected.Merge(step);
            Assert.Equal(expected, builder.ToFrontier());
            Assert.Equal(expected.Get(origin), builder.Get(origin));
            if (!moved) Assert.Equal(before, builder.ToFrontier());
        }
        Assert.Equal(expected.Count, builder.Count);
        Assert.True(builder.Covers(start) && builder.Covers(expected));
        Assert.False(builder.Join(start));
        var other = Build(raises, seqs).With(9, 1);
        Assert.True(builder.Join(other));
        Assert.Equal(expected.Merge(other), builder.ToFrontier());
    }

    [Property]
    public void On_the_wire_it_is_the_dictionary_of_its_entries(byte[] ao, ushort[] @as)
    {
        var a = Build(ao, @as);
        var json = JsonSerializer.Serialize(a);

        Assert.Equal(JsonSerializer.Serialize(a.ToDictionary()), json);
        Assert.Equal(a, JsonSerializer.Deserialize<Frontier>(json));
    }

    [Fact]
    public void It_reads_what_a_dictionary_wrote_in_any_order_and_null_as_empty()
    {
        const long origin = (7L << 32) | 3;
        var written = JsonSerializer.Serialize(new Dictionary<long, long> { [origin] = 12, [1] = 4 });

        var read = JsonSerializer.Deserialize<Frontier>(written);

        Assert.Equal("""{"30064771075":12,"1":4}""", written);
        Assert.Equal((12L, 4L, 0L, 2), (read.Get(origin), read.Get(1), read.Get(2), read.Count));
        Assert.Equal("""{"1":4,"30064771075":12}""", JsonSerializer.Serialize(read));
        Assert.Equal(Frontier.Empty, JsonSerializer.Deserialize<Frontier>("null"));
        Assert.True(default(Frontier).IsEmpty);
    }
}
