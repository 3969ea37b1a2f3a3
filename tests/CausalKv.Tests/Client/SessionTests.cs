using CausalKv.Client;

namespace CausalKv.Tests.Client;

public sealed class SessionTests
{
    private const string Metadata = "{\"ckv\":\"c1\",\"d\":{\"x\":{\"c\":{\"7\":3},\"t\":[9,1]}},\"m\":\"q83vEjRWeJA=\"}";

    [Fact]
    public void A_saved_session_restores_to_the_same_metadata_in_cookie_safe_text()
    {
        var session = new CausalKvSession();
        session.Observe(Metadata);
        var saved = session.Save();
        Assert.Matches("^[A-Za-z0-9_-]+$", saved);
        Assert.Equal(Metadata, CausalKvSession.Restore(saved).CausalMetadata);
    }

    [Fact]
    public void A_new_session_saves_as_empty_and_restores_as_new()
    {
        Assert.Equal("", new CausalKvSession().Save());
        Assert.Null(CausalKvSession.Restore("").CausalMetadata);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("WzEsMl0")]        // [1,2]
    [InlineData("eyJhIjox")]       // {"a":1 (cut short)
    public void Text_that_is_not_a_saved_session_is_refused(string text) =>
        Assert.Throws<FormatException>(() => CausalKvSession.Restore(text));

    [Fact]
    public void Concurrent_calls_leave_the_metadata_of_one_of_them_whole()
    {
        var session = new CausalKvSession();
        var values = Enumerable.Range(0, 64).Select(i => $"{{\"n\":{i}}}").ToArray();
        Parallel.ForEach(values, v => session.Observe(v));
        Assert.Contains(session.CausalMetadata, values);
        Assert.Equal(64, session.CompletedCalls);
    }

    [Fact]
    public void An_answer_without_metadata_leaves_the_session_as_it_was()
    {
        var session = new CausalKvSession();
        session.Observe(Metadata);
        session.Observe(null);
        Assert.Equal(Metadata, session.CausalMetadata);
    }
}
