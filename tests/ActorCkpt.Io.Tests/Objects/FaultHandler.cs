using System.Collections.Concurrent;
using System.Net;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// An HTTP handler in front of an SDK's: counts requests by kind (<see cref="KindOf"/>) and the
/// bytes of ranged GETs by key, and answers the first requests that match a rule with an error of
/// its own (a 500, a throttling 503 with Retry-After) instead of sending them.
/// </summary>
internal sealed class FaultHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private readonly ConcurrentQueue<(Func<HttpRequestMessage, bool> Matches, Func<HttpResponseMessage> Answer)> _faults = new();

    /// <summary>Requests sent on to the service, by kind.</summary>
    public ConcurrentDictionary<string, int> Sent { get; } = new();

    /// <summary>Requests answered by a fault, by kind.</summary>
    public ConcurrentDictionary<string, int> Faulted { get; } = new();

    /// <summary>Bytes asked for by ranged GETs, by path.</summary>
    public ConcurrentDictionary<string, long> RangeBytes { get; } = new();

    /// <summary>Ranged GETs sent, by path.</summary>
    public ConcurrentDictionary<string, int> RangeGets { get; } = new();

    /// <summary>The next <paramref name="times"/> requests that match get <paramref name="answer"/>.</summary>
    public void Fail(Func<HttpRequestMessage, bool> matches, Func<HttpResponseMessage> answer, int times = 1)
    {
        for (var i = 0; i < times; i++) _faults.Enqueue((matches, answer));
    }

    /// <summary>The next <paramref name="times"/> requests that match are sent with one byte of their body flipped, their headers (and so their MD5) as they were: bytes damaged on the way.</summary>
    public void Corrupt(Func<HttpRequestMessage, bool> matches, int times = 1)
    {
        for (var i = 0; i < times; i++) _corrupt.Enqueue(matches);
    }

    private readonly ConcurrentQueue<Func<HttpRequestMessage, bool>> _corrupt = new();

    /// <summary>Requests whose body was damaged on the way, by the status the service answered.</summary>
    public ConcurrentDictionary<int, int> CorruptedAnswers { get; } = new();

    private volatile Func<HttpRequestMessage, bool>? _record;

    /// <summary>Requests that match are kept, their headers and body as sent, in <see cref="Recorded"/>.</summary>
    public void Record(Func<HttpRequestMessage, bool> matches) => _record = matches;

    /// <summary>The requests kept by <see cref="Record"/>: every header (request's and content's) by name, and the body.</summary>
    public ConcurrentQueue<(Dictionary<string, string[]> Headers, byte[] Body)> Recorded { get; } = new();

    private volatile Func<HttpRequestMessage, bool>? _hold;
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held;

    /// <summary>Requests that match wait, unsent, until <see cref="Release"/>: an upload that hangs, as on a stalled link.</summary>
    public void Hold(Func<HttpRequestMessage, bool> matches)
    {
        _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = matches;
    }

    /// <summary>Lets the held requests go on, and holds no more.</summary>
    public void Release()
    {
        _hold = null;
        _released.TrySetResult();
    }

    /// <summary>Requests waiting at <see cref="Hold"/> now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Drops the faults not yet used: requests go to the service again.</summary>
    public void ClearFaults() => _faults.Clear();

    /// <summary>S3's UploadPart or Azure's Put Block.</summary>
    public static bool IsPartUpload(HttpRequestMessage r) =>
        r.Method == HttpMethod.Put && r.RequestUri!.Query is var q && (q.Contains("partNumber=", StringComparison.Ordinal) || q.Contains("comp=block&", StringComparison.Ordinal) || q.EndsWith("comp=block", StringComparison.Ordinal));

    /// <summary>S3's 503 SlowDown as the service sends it, asking for a wait of <paramref name="seconds"/>.</summary>
    public static HttpResponseMessage SlowDown(int seconds) => Error(HttpStatusCode.ServiceUnavailable, "SlowDown", "Please reduce your request rate.", seconds);

    /// <summary>Azure's 503 ServerBusy.</summary>
    public static HttpResponseMessage ServerBusy(int seconds) => Error(HttpStatusCode.ServiceUnavailable, "ServerBusy", "The server is busy.", seconds, azure: true);

    /// <summary>Azure's 400 Crc64Mismatch: the body does not match its x-ms-content-crc64.</summary>
    public static HttpResponseMessage Crc64Mismatch() =>
        Error(HttpStatusCode.BadRequest, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.", null, azure: true);

    /// <summary>S3's 404 NoSuchKey: the key is not there (a HEAD's answer has no body, so only the status tells).</summary>
    public static HttpResponseMessage NoSuchKey() => Error(HttpStatusCode.NotFound, "NoSuchKey", "The specified key does not exist.", null);

    /// <summary>A plain 500 InternalError.</summary>
    public static HttpResponseMessage InternalError(bool azure) => Error(HttpStatusCode.InternalServerError, "InternalError", "We encountered an internal error.", null, azure);

    /// <summary>The byte range a GET asks for: S3's Range header, or Azure's x-ms-range.</summary>
    public static (long From, long To)? RangeOf(HttpRequestMessage r)
    {
        if (r.Method != HttpMethod.Get) return null;
        if (r.Headers.Range?.Ranges.FirstOrDefault() is { From: { } from, To: { } to }) return (from, to);
        if (r.Headers.TryGetValues("x-ms-range", out var values) && System.Net.Http.Headers.RangeHeaderValue.TryParse(values.First(), out var azure)
            && azure.Ranges.FirstOrDefault() is { From: { } f, To: { } t })
            return (f, t);
        return null;
    }

    public static string KindOf(HttpRequestMessage r) =>
        IsPartUpload(r) ? "part"
        : RangeOf(r) is not null ? "ranged-get"
        : r.Method.Method.ToLowerInvariant();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var kind = KindOf(request);
        if (_hold is { } hold && hold(request))
        {
            Interlocked.Increment(ref _held);
            try
            {
                await _released.Task.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _held);
            }
        }
        if (_faults.TryPeek(out var fault) && fault.Matches(request) && _faults.TryDequeue(out _))
        {
            Faulted.AddOrUpdate(kind, 1, (_, n) => n + 1);
            if (request.Content is not null) await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var answer = fault.Answer();
            answer.RequestMessage = request;
            return answer;
        }
        Sent.AddOrUpdate(kind, 1, (_, n) => n + 1);
        if (request.Content is not null && _corrupt.TryPeek(out var corrupt) && corrupt(request) && _corrupt.TryDequeue(out _))
        {
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            body[body.Length / 2] ^= 0xFF;
            var damaged = new ByteArrayContent(body);
            foreach (var header in request.Content.Headers) damaged.Headers.TryAddWithoutValidation(header.Key, header.Value);
            request.Content = damaged;
            var answer = await base.SendAsync(request, cancellationToken);
            CorruptedAnswers.AddOrUpdate((int)answer.StatusCode, 1, (_, n) => n + 1);
            return answer;
        }
        if (request.Content is not null && _record is { } record && record(request))
        {
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var headers = request.Headers.Concat(request.Content.Headers).ToDictionary(h => h.Key, h => h.Value.ToArray(), StringComparer.OrdinalIgnoreCase);
            Recorded.Enqueue((headers, body));
            var copy = new ByteArrayContent(body);
            foreach (var header in request.Content.Headers) copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            request.Content = copy;
        }
        if (RangeOf(request) is var (from, to))
        {
            RangeBytes.AddOrUpdate(request.RequestUri!.AbsolutePath, to - from + 1, (_, n) => n + to - from + 1);
            RangeGets.AddOrUpdate(request.RequestUri!.AbsolutePath, 1, (_, n) => n + 1);
        }
        return await base.SendAsync(request, cancellationToken);
    }

    private static HttpResponseMessage Error(HttpStatusCode status, string code, string message, int? retryAfter, bool azure = false)
    {
        var body = azure
            ? $"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            : $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>test</RequestId></Error>";
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/xml") };
        if (azure) response.Headers.Add("x-ms-error-code", code);
        if (retryAfter is { } s) response.Headers.Add("Retry-After", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return response;
    }
}
