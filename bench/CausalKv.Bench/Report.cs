using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CausalKv.Bench;

/// <summary>
/// Collects a scenario's figures and writes them as a Markdown table and JSON under bench/results/,
/// with the machine, the date and the load average they came from; refreshes the scenario's block in bench/README.md.
/// </summary>
internal sealed class Report(string scenario)
{
    private readonly List<Dictionary<string, object?>> _rows = [];
    private readonly List<string> _sections = [];
    private readonly string _loadBefore = Machine.LoadAverage();

    public string Scenario => scenario;

    /// <summary>Extra data for the JSON file only (raw measurements, settings).</summary>
    public Dictionary<string, object?> Data { get; } = [];

    /// <summary>Words added to the scenario's note at run time (e.g. the load generator's version).</summary>
    public List<string> Notes { get; } = [];

    public void Add(Dictionary<string, object?> row)
    {
        _rows.Add(row);
        Console.WriteLine(string.Join("  ", row.Select(kv => $"{kv.Key}={Format(kv.Value)}")));
    }

    /// <summary>A Markdown block printed after the table (a second table, the targets).</summary>
    public void AddSection(string markdown)
    {
        _sections.Add(markdown.TrimEnd());
        Console.WriteLine(markdown);
    }

    private static string Format(object? v) => v switch
    {
        double d => d.ToString(Math.Abs(d) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture),
        null => "",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    public string Save(string resultsDir, string note)
    {
        Directory.CreateDirectory(resultsDir);
        var loadAfter = Machine.LoadAverage();
        var measuredAt = DateTime.UtcNow;
        var fullNote = string.Join(" ", new[] { note }.Concat(Notes));
        var columns = _rows.SelectMany(r => r.Keys).Distinct().ToList();
        var md = new StringBuilder();
        md.AppendLine($"### {scenario}").AppendLine();
        md.AppendLine($"{fullNote}  ");
        md.AppendLine($"Measured {measuredAt:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({Machine.CpuModel()}), {Environment.OSVersion}; " +
                      $"load average {_loadBefore} before, {loadAfter} after (1/5/15 min).").AppendLine();
        md.AppendLine("| " + string.Join(" | ", columns) + " |");
        md.AppendLine("|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var r in _rows) md.AppendLine("| " + string.Join(" | ", columns.Select(c => Format(r.GetValueOrDefault(c)))) + " |");
        foreach (var s in _sections) md.AppendLine().AppendLine(s);
        var text = md.ToString();
        File.WriteAllText(Path.Combine(resultsDir, scenario + ".md"), text);
        File.WriteAllText(Path.Combine(resultsDir, scenario + ".json"),
            JsonSerializer.Serialize(new
            {
                scenario,
                note = fullNote,
                measuredAt,
                cores = Environment.ProcessorCount,
                cpu = Machine.CpuModel(),
                loadAverageBefore = _loadBefore,
                loadAverageAfter = loadAfter,
                rows = _rows,
                data = Data,
            }, new JsonSerializerOptions { WriteIndented = true }));
        UpdateReadme(text);
        return text;
    }

    /// <summary>Replaces the text between <c>&lt;!-- results:NAME --&gt;</c> and <c>&lt;!-- /results:NAME --&gt;</c> in bench/README.md, when both are there.</summary>
    private void UpdateReadme(string markdown)
    {
        var path = BenchPaths.Readme;
        if (!File.Exists(path)) return;
        var readme = File.ReadAllText(path);
        string open = $"<!-- results:{scenario} -->", close = $"<!-- /results:{scenario} -->";
        var start = readme.IndexOf(open, StringComparison.Ordinal);
        var end = readme.IndexOf(close, StringComparison.Ordinal);
        if (start < 0 || end < start) return;
        // The table's own heading is left out (the README has its own); links to files beside it point into results/.
        var body = markdown[(markdown.IndexOf('\n') + 1)..].Trim().Replace("](", "](results/", StringComparison.Ordinal);
        File.WriteAllText(path, readme[..(start + open.Length)] + "\n" + body + "\n" + readme[end..]);
    }
}
