namespace CausalKv.Storage;

/// <summary>
/// The order keys are listed in: ordinal over their UTF-8 bytes, which is Unicode code point order. It is the order
/// RocksDB keeps them in, so a page of a listing is a range of the engine's keys; .NET's ordinal order (UTF-16 code
/// units) differs only where a character above U+FFFF meets one from U+E000 to U+FFFF.
/// </summary>
public sealed class KeyOrder : IComparer<string>
{
    public static readonly KeyOrder Instance = new();

    private KeyOrder()
    {
    }

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var common = x.AsSpan().CommonPrefixLength(y);
        if (common == x.Length || common == y.Length) return x.Length - y.Length;
        int a = x[common], b = y[common];
        // Surrogates (U+D800-DFFF) stand for code points above U+FFFF: move them above U+E000-FFFF (the fix-up of
        // ICU's u_strCmpCodePointOrder); below U+D800 both orders agree.
        if (a >= 0xD800 && b >= 0xD800)
        {
            a = a >= 0xE000 ? a - 0x800 : a + 0x2000;
            b = b >= 0xE000 ? b - 0x800 : b + 0x2000;
        }
        return a - b;
    }
}
