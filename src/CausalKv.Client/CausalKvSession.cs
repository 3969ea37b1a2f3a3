// CausalKvSession: one causal history, carried between calls as the opaque metadata the store issued.
//
// Invariant: the session only ever holds metadata exactly as the store returned it (or none). The store signs it, so
// the client cannot join two metadata values itself: when calls of one session overlap, the session keeps what the
// call that completed last returned. Calls made one after another (each awaited before the next starts) are causally
// ordered; overlapping calls are concurrent, and after both complete the session depends on the later one's history
// (which includes everything the session had when it started) but not necessarily on the other's.
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace CausalKv.Client;

/// <summary>
/// A causal history: every read made through it sees the writes it wrote or saw before, on any replica of any shard.
/// Safe to share between concurrent tasks (see the remarks). A new session starts a new history;
/// <see cref="Save"/> and <see cref="Restore"/> carry one across process or request boundaries (a cookie, a header).
/// </summary>
/// <remarks>
/// Each call sends the metadata the session holds when the call starts and, when it completes, the session takes the
/// metadata the store answered. Calls awaited one after the other are therefore causally ordered. Calls that overlap
/// are not ordered with each other: once they have all completed, the session holds the history of the one that
/// completed last. To make a later call depend on every one of several concurrent calls, use one session per
/// concurrent branch, or await them one after the other.
/// </remarks>
public sealed class CausalKvSession
{
    private string? _metadata;
    private long _completed;

    /// <summary>A new session, depending on nothing.</summary>
    public CausalKvSession()
    {
    }

    private CausalKvSession(string metadata) => _metadata = metadata;

    /// <summary>The causal metadata the next call sends, as the store issued it (JSON), or null for none yet.</summary>
    public string? CausalMetadata => Volatile.Read(ref _metadata);

    /// <summary>How many calls of this session have completed and handed back metadata.</summary>
    public long CompletedCalls => Interlocked.Read(ref _completed);

    /// <summary>
    /// The session as text safe for a cookie or a header (base64url of the metadata; empty for a new session). The store
    /// signs the metadata, so whoever holds the text can continue the history but cannot alter it.
    /// </summary>
    public string Save()
    {
        var metadata = CausalMetadata;
        return metadata is null ? "" : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(metadata));
    }

    /// <summary>Continues a history saved with <see cref="Save"/>; an empty text is a new session.</summary>
    /// <exception cref="FormatException">The text is not a saved session.</exception>
    public static CausalKvSession Restore(string saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        if (saved.Length == 0) return new CausalKvSession();
        byte[] json;
        try
        {
            json = Base64Url.DecodeFromChars(saved);
        }
        catch (FormatException e)
        {
            throw new FormatException("This text is not a saved CausalKv session (not base64url).", e);
        }
        if (!IsJsonObject(json)) throw new FormatException("This text is not a saved CausalKv session (not a JSON object inside).");
        return new CausalKvSession(Encoding.UTF8.GetString(json));
    }

    /// <summary>Continues a history from causal metadata as a response of the store gave it (e.g. from another client).</summary>
    /// <exception cref="FormatException">The text is not a JSON object.</exception>
    public static CausalKvSession FromCausalMetadata(string causalMetadata)
    {
        ArgumentNullException.ThrowIfNull(causalMetadata);
        if (!IsJsonObject(Encoding.UTF8.GetBytes(causalMetadata))) throw new FormatException("Causal metadata is a JSON object.");
        return new CausalKvSession(causalMetadata);
    }

    /// <summary>Takes the metadata a completed call was answered with.</summary>
    internal void Observe(string? metadata)
    {
        if (metadata is null) return;
        Volatile.Write(ref _metadata, metadata);
        Interlocked.Increment(ref _completed);
    }

    private static bool IsJsonObject(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
