using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CausalKv.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Node.Api;

/// <summary>
/// Reads a request body up to a limit, refusing larger ones before reading them whole, and checks that its JSON is
/// text: every string and field name valid UTF-8 once unescaped (no lone surrogate escapes), so nothing later fails
/// on it. A body of known length is read into one array of exactly that size: a request holds at most its body.
/// </summary>
internal static class RequestBody
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    /// <summary>The body up to <paramref name="limit"/> bytes (<see cref="BoundedBody"/>).</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct) => await BoundedBody.ReadAsync(request, limit, ct);

    /// <summary>Parses a JSON object body; empty means "no body". Returns an error message for anything else.</summary>
    public static bool TryParseObject(byte[] body, out JsonDocument? document, out string? error)
    {
        document = null;
        error = null;
        if (body.Length == 0 || body.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return true;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = ReaderOptions.MaxDepth });
        }
        catch (JsonException e)
        {
            error = $"The body is not valid JSON ({e.Message}). Send {{\"value\": \"...\", \"causal-metadata\": {{...}}}}.";
            return false;
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            document = null;
            error = "The body must be a JSON object.";
            return false;
        }
        if (TextError(body) is { } notText)
        {
            document.Dispose();
            document = null;
            error = "The body is not text: " + notText;
            return false;
        }
        return true;
    }

    /// <summary>What is not text in a JSON header (the causal metadata's), or null when every string in it is (or it is no JSON at all: its parser says so).</summary>
    public static string? HeaderTextError(string? json) =>
        string.IsNullOrWhiteSpace(json) ? null : TextError(Encoding.UTF8.GetBytes(json)) is { } e ? "The X-Causal-Metadata header is not text: " + e : null;

    /// <summary>
    /// Null when every string and field name of <paramref name="json"/> is valid UTF-8 once unescaped; else which one
    /// is not. Syntax errors are left to the parser (null). Reads the JSON once, without building anything.
    /// </summary>
    public static string? TextError(ReadOnlySpan<byte> json)
    {
        // The common body: ASCII with no \u escape cannot hold a byte or a surrogate that is not text. One vectorized
        // pass instead of a second read of the whole JSON on every request.
        if (Ascii.IsValid(json) && json.IndexOf("\\u"u8) < 0) return null;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        byte[]? scratch = null;
        try
        {
            string? field = null;
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.PropertyName or JsonTokenType.String)) continue;
                var raw = reader.ValueSpan;
                bool valid;
                if (!reader.ValueIsEscaped)
                {
                    valid = Utf8.IsValid(raw);
                }
                else
                {
                    // Unescaped, a string is never longer than its escaped form.
                    if (scratch is null || scratch.Length < raw.Length)
                    {
                        if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
                        scratch = ArrayPool<byte>.Shared.Rent(raw.Length);
                    }
                    try
                    {
                        valid = Utf8.IsValid(scratch.AsSpan(0, reader.CopyString(scratch)));
                    }
                    catch (InvalidOperationException)
                    {
                        valid = false;
                    }
                }
                if (!valid)
                {
                    var what = reader.TokenType == JsonTokenType.PropertyName ? "a field name" : field is null ? "a string" : $"the string in \"{field}\"";
                    return $"{what} is not valid UTF-8 (invalid bytes, or a \\u escape of a lone surrogate); strings must be Unicode text.";
                }
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1) field = reader.GetString();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
