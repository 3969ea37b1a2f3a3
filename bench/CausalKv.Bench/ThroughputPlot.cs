using ScottPlot;
using SkiaSharp;

namespace CausalKv.Bench;

/// <summary>Throughput against connections, one panel per operation, one line per target (bare, node, router), as a PNG.</summary>
internal static class ThroughputPlot
{
    private static readonly Dictionary<string, Color> Colors = new()
    {
        ["bare"] = new Color(0x55, 0x55, 0x55),
        ["node"] = new Color(0x1f, 0x77, 0xb4),
        ["router"] = new Color(0xd6, 0x27, 0x28),
    };

    private const int Width = 1500, PanelHeight = 500, HeaderHeight = 56;

    public static void Save(IReadOnlyList<ThroughputPoint> points, string path, string subtitle)
    {
        var ops = points.Select(p => p.Op).Distinct().ToList();
        var connections = points.Select(p => p.Connections).Distinct().Order().ToArray();
        // Connections on a log2 axis: 1, 16 and 64 sit at 0, 4 and 6.
        var xs = connections.Select(c => Math.Log2(c)).ToArray();
        var top = points.Max(p => p.Result.RequestsPerSecond) / 1000 * 1.1;

        var multiplot = new Multiplot();
        multiplot.AddPlots(ops.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        for (var i = 0; i < ops.Count; i++)
        {
            var plot = multiplot.GetPlot(i);
            foreach (var target in points.Select(p => p.Target).Distinct())
            {
                var ys = connections.Select(c => points.Single(p => p.Op == ops[i] && p.Target == target && p.Connections == c).Result.RequestsPerSecond / 1000).ToArray();
                var line = plot.Add.Scatter(xs, ys);
                line.LegendText = target;
                line.Color = Colors.GetValueOrDefault(target, Colors["bare"]);
                line.LineWidth = 2;
                line.MarkerSize = 8;
            }
            plot.Title(ops[i], size: 16);
            plot.XLabel("connections");
            plot.YLabel("thousand ops/s");
            plot.Axes.Bottom.SetTicks(xs, connections.Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
            plot.Axes.SetLimits(-0.4, xs[^1] + 0.4, 0, top);
            plot.ShowLegend(Alignment.UpperLeft);
        }
        // A header above the panels: what is plotted and where the figures came from.
        var panelsFile = Path.GetTempFileName();
        multiplot.SavePng(panelsFile, Width, PanelHeight);
        using var panels = SKBitmap.Decode(panelsFile);
        File.Delete(panelsFile);
        using var surface = SKSurface.Create(new SKImageInfo(Width, PanelHeight + HeaderHeight));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var title = new SKFont(SKTypeface.Default, 20);
        using var small = new SKFont(SKTypeface.Default, 14);
        canvas.DrawText("CausalKv throughput vs connections (wrk; median of rounds)", Width / 2f, 24, SKTextAlign.Center, title, paint);
        canvas.DrawText(subtitle, Width / 2f, 46, SKTextAlign.Center, small, paint);
        canvas.DrawBitmap(panels, 0, HeaderHeight);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var png = surface.Snapshot().Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
