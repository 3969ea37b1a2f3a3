using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using CausalKv.AppHost.Telemetry.Otlp;
using Google.Protobuf;

namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// OTLP/HTTP intake on the standard paths, so the services' stock exporter
/// (<c>http/protobuf</c>) feeds the dashboard unchanged: POST <c>/v1/traces</c>,
/// <c>/v1/metrics</c>, <c>/v1/logs</c> with <c>application/x-protobuf</c> or
/// <c>application/json</c> (else 415), optionally gzip-encoded, and the API key
/// in <c>x-otlp-api-key</c> (else 401), as Aspire's dashboard secures its intake.
/// </summary>
internal static class OtlpReceiver
{
    public const string ApiKeyHeader = "x-otlp-api-key";
    public const string TracesPath = "/v1/traces";
    public const string MetricsPath = "/v1/metrics";
    public const string LogsPath = "/v1/logs";
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    /// <summary>Decompressed bodies above this are refused (a compressed body could otherwise expand without bound).</summary>
    private const int MaxBodyBytes = 64 * 1024 * 1024;

    public static bool IsOtlpPath(PathString path) =>
        path.Equals(TracesPath, StringComparison.Ordinal) || path.Equals(MetricsPath, StringComparison.Ordinal) || path.Equals(LogsPath, StringComparison.Ordinal);

    public static IEndpointRouteBuilder MapOtlpReceiver(this IEndpointRouteBuilder app, string apiKey)
    {
        app.MapPost(TracesPath, (HttpContext context, TelemetryStore store) => ReceiveAsync(context, apiKey, ExportTraceServiceRequest.Parser, request =>
        {
            var (spans, rejected) = OtlpMapping.Spans(request, store);
            store.Spans.Add(spans);
            return new ExportTraceServiceResponse
            {
                PartialSuccess = rejected == 0 ? null : new ExportTracePartialSuccess { RejectedSpans = rejected, ErrorMessage = "Too many resources." },
            };
        }));
        app.MapPost(MetricsPath, (HttpContext context, TelemetryStore store) => ReceiveAsync(context, apiKey, ExportMetricsServiceRequest.Parser, request =>
        {
            var (batches, rejected) = OtlpMapping.Metrics(request, store);
            store.Metrics.Add(batches);
            return new ExportMetricsServiceResponse
            {
                PartialSuccess = rejected == 0 ? null : new ExportMetricsPartialSuccess { RejectedDataPoints = rejected, ErrorMessage = "Too many resources." },
            };
        }));
        app.MapPost(LogsPath, (HttpContext context, TelemetryStore store) => ReceiveAsync(context, apiKey, ExportLogsServiceRequest.Parser, request =>
        {
            var (logs, rejected) = OtlpMapping.Logs(request, store);
            store.Logs.Add(logs);
            return new ExportLogsServiceResponse
            {
                PartialSuccess = rejected == 0 ? null : new ExportLogsPartialSuccess { RejectedLogRecords = rejected, ErrorMessage = "Too many resources." },
            };
        }));
        return app;
    }

    private static async Task ReceiveAsync<TRequest>(HttpContext context, string apiKey, MessageParser<TRequest> parser, Func<TRequest, IMessage> store)
        where TRequest : IMessage<TRequest>, new()
    {
        var request = context.Request;
        var response = context.Response;
        if (!HasApiKey(request, apiKey))
        {
            await PlainAsync(response, StatusCodes.Status401Unauthorized, $"Send the AppHost's OTLP API key in the {ApiKeyHeader} header.");
            return;
        }
        var mediaType = (request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        var isJson = mediaType == Json;
        if (mediaType != Protobuf && !isJson)
        {
            await PlainAsync(response, StatusCodes.Status415UnsupportedMediaType, $"OTLP/HTTP takes {Protobuf} or {Json}.");
            return;
        }
        TRequest message;
        try
        {
            var body = await ReadBodyAsync(request, context.RequestAborted);
            message = isJson ? OtlpJson.Parse<TRequest>(Encoding.UTF8.GetString(body)) : parser.ParseFrom(body);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or System.Text.Json.JsonException or FormatException or InvalidDataException)
        {
            await PlainAsync(response, StatusCodes.Status400BadRequest, $"Not a valid OTLP export request: {e.Message}");
            return;
        }
        var reply = store(message);
        response.StatusCode = StatusCodes.Status200OK;
        if (isJson)
        {
            response.ContentType = Json;
            await response.WriteAsync(JsonFormatter.Default.Format(reply), context.RequestAborted);
        }
        else
        {
            response.ContentType = Protobuf;
            await response.Body.WriteAsync(reply.ToByteArray(), context.RequestAborted);
        }
    }

    private static bool HasApiKey(HttpRequest request, string apiKey)
    {
        if (!request.Headers.TryGetValue(ApiKeyHeader, out var values) || values.Count != 1 || values[0] is not { } given) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(apiKey));
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = encoding switch
        {
            "" or "identity" => null,
            "gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => throw new InvalidDataException($"Content-Encoding '{encoding}' is not supported (gzip is)."),
        };
        try
        {
            var source = gzip ?? request.Body;
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes) throw new InvalidDataException($"The body is larger than {MaxBodyBytes} bytes.");
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
        finally
        {
            if (gzip is not null) await gzip.DisposeAsync();
        }
    }

    private static Task PlainAsync(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text);
    }
}
