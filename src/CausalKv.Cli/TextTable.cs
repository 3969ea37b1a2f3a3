using System.Text;

namespace CausalKv.Cli;

/// <summary>Columns padded to their widest cell, for people; <c>--json</c> is for scripts.</summary>
internal static class TextTable
{
    public static string Render(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.AppendLine(string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(headers);
        foreach (var row in all) Line(row);
        return text.ToString();
    }

    /// <summary>A value shortened for a table cell: one line, at most <paramref name="max"/> characters.</summary>
    public static string Cell(string value, int max = 60)
    {
        var line = value.ReplaceLineEndings(" ");
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }
}
