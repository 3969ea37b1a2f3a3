using System.Text;
using System.Text.Json;

namespace CausalKv.Bench;

/// <summary>Collects a scenario's figures and writes them as a Markdown table and JSON under bench/results/.</summary>
internal sealed class Report(string scenario)
{
    private readonly List<Dictionary<string, object?>> _rows = [];

    public void Add(Dictionary<string, object?> row)
    {
        _rows.Add(row);
        Console.WriteLine(string.Join("  ", row.Select(kv => $"{kv.Key}={Format(kv.Value)}")));
    }

    private static string Format(object? v) => v switch
    {
        double d => d.ToString(d >= 100 ? "0" : "0.###", System.Globalization.CultureInfo.InvariantCulture),
        null => "",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    public string Save(string resultsDir, string note)
    {
        Directory.CreateDirectory(resultsDir);
        var columns = _rows.SelectMany(r => r.Keys).Distinct().ToList();
        var md = new StringBuilder();
        md.AppendLine($"### {scenario}").AppendLine();
        md.AppendLine($"{note}  ").AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores, {Environment.OSVersion}.").AppendLine();
        md.AppendLine("| " + string.Join(" | ", columns) + " |");
        md.AppendLine("|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var r in _rows) md.AppendLine("| " + string.Join(" | ", columns.Select(c => Format(r.GetValueOrDefault(c)))) + " |");
        File.WriteAllText(Path.Combine(resultsDir, scenario + ".md"), md.ToString());
        File.WriteAllText(Path.Combine(resultsDir, scenario + ".json"),
            JsonSerializer.Serialize(new { scenario, note, measuredAt = DateTime.UtcNow, cores = Environment.ProcessorCount, rows = _rows }, new JsonSerializerOptions { WriteIndented = true }));
        return md.ToString();
    }
}
