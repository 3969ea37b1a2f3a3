using System.Net;
using System.Text;
using CausalKv.Router.Routing;

namespace CausalKv.Tests.Router;

public sealed class BufferedBodyHandlerTests
{
    /// <summary>Records what reaches the transport: the content's type, its headers and the bytes it serializes to.</summary>
    private sealed class Recorder : HttpMessageHandler
    {
        public HttpContent? Content { get; private set; }
        public byte[]? Sent { get; private set; }
        public Exception? SecondSend { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Content = request.Content;
            if (request.Content is not null)
            {
                using var first = new MemoryStream();
                await request.Content.CopyToAsync(first, cancellationToken);
                Sent = first.ToArray();
                SecondSend = await Record.ExceptionAsync(() => request.Content.CopyToAsync(new MemoryStream(), cancellationToken));
            }
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    /// <summary>Stands in for YARP's streaming content: it must never be read when a buffered body is attached.</summary>
    private sealed class StreamingContent : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            throw new InvalidOperationException("the streaming content was read");

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    [Fact]
    public async Task A_buffered_body_replaces_the_streaming_content_keeps_its_headers_and_is_sent_once()
    {
        var recorder = new Recorder();
        using var invoker = new HttpMessageInvoker(new BufferedBodyHandler(recorder));
        var body = Encoding.UTF8.GetBytes("{\"causal-metadata\":{}}");
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://10.0.1.1:8080/data/k") { Content = new StreamingContent() };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        request.Content.Headers.TryAddWithoutValidation("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Options.Set(NodeRequestTransformer.BodyKey, body);

        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.IsNotType<StreamingContent>(recorder.Content);
        Assert.Equal(body, recorder.Sent);
        Assert.Equal("application/json; charset=utf-8", recorder.Content!.Headers.ContentType!.ToString());
        Assert.Equal(body.Length, recorder.Content.Headers.ContentLength);
        // The transport may not quietly send it again: the node may have applied it.
        Assert.IsType<InvalidOperationException>(recorder.SecondSend);
    }

    [Fact]
    public async Task Requests_without_a_buffered_body_pass_unchanged()
    {
        var recorder = new Recorder();
        using var invoker = new HttpMessageInvoker(new BufferedBodyHandler(recorder));
        var content = new ByteArrayContent([1, 2, 3]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://10.0.1.1:8080/data") { Content = content };
        using var response = await invoker.SendAsync(request, CancellationToken.None);
        Assert.Same(content, recorder.Content);
        using var bodiless = new HttpRequestMessage(HttpMethod.Get, "http://10.0.1.1:8080/view");
        using var again = await invoker.SendAsync(bodiless, CancellationToken.None);
        Assert.Null(recorder.Content);
    }
}
