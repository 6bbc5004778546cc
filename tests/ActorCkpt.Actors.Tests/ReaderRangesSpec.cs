using Akka.Actor;
using Akka.Streams;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A reader asked for several ranges at once (<see cref="ReadRanges"/>): it offers them as one
/// transfer over the bulk channel, range after range, or refuses the whole request with one line
/// naming what is wrong, offering nothing.
/// </summary>
public sealed class ReaderRangesSpec : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-ranges-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _a = Bytes(100_000, 1);
    private readonly byte[] _b = Bytes(5_000, 2);

    public ReaderRangesSpec() : base(ActorCkptConfig.Parse("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING"))
    {
        Directory.CreateDirectory(Path.Combine(_root, CheckpointLayout.StepDirectory(1)));
        File.WriteAllBytes(Path.Combine(_root, CheckpointLayout.InStep(1, "a.safetensors")), _a);
        File.WriteAllBytes(Path.Combine(_root, CheckpointLayout.InStep(1, "b.safetensors")), _b);
    }

    private static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private ActorCkptSettings Settings => ActorCkptSettings.Create(Sys);

    private BulkServer Server => BulkChannels.Get(Sys).For(Settings).Server;

    [Fact]
    public async Task Ranges_asked_for_together_should_arrive_in_one_transfer_range_after_range()
    {
        var reader = Sys.ActorOf(ReaderActor.Props(new LocalBlobStore(_root), Settings));
        var ranges = new[] { new WantedRange("b.safetensors", 100, 4_000, 4096), new WantedRange("a.safetensors", 7, 70_000), new WantedRange("b.safetensors", 0, 1) };

        var offered = Assert.IsType<ReadRangeOffered>(await reader.Ask<IActorCkptMessage>(new ReadRanges(1, ranges), Patience));
        var fetched = new byte[74_001];
        await BulkChannels.Get(Sys).For(Settings).Client.FetchAsync(offered.Endpoint, offered.Token, fetched).WaitAsync(Patience);

        Assert.Equal(_b[100..4_100].Concat(_a[7..70_007]).Concat(_b[..1]), fetched);
    }

    /// <summary>Each way a request can be wrong, what the refusal says, and whether it says the file is damaged (missing or short: asking again cannot help).</summary>
    public static TheoryData<string, string, bool> Refused => new()
    {
        { "none", "step 1: 0 ranges asked for at once, 1 to 1024 are served", false },
        { "too many", "step 1: 1025 ranges asked for at once, 1 to 1024 are served", false },
        { "not a plain name", "'../a.safetensors' at 0+1 is not a range of a data file", false },
        { "no name", "'' at 0+1 is not a range of a data file", false },
        { "negative", "'a.safetensors' at -1+1 is not a range of a data file", false },
        { "past the end", "'step-00000001/b.safetensors' has 5000 bytes, less than 4999+2", true },
        { "no such file", "'step-00000001/c.safetensors' on ", true },
        { "memory tier without replicas", "holds no memory replicas", false },
    };

    private static ReadRanges Request(string why) => why switch
    {
        "none" => new ReadRanges(1, []),
        "too many" => new ReadRanges(1, Enumerable.Repeat(new WantedRange("a.safetensors", 0, 1), ReadRanges.MaxRanges + 1).ToArray()),
        "not a plain name" => new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1), new WantedRange("../a.safetensors", 0, 1)]),
        "no name" => new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1), new WantedRange(null!, 0, 1)]),
        "negative" => new ReadRanges(1, [new WantedRange("a.safetensors", -1, 1)]),
        "past the end" => new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1), new WantedRange("b.safetensors", 4_999, 2)]),
        "no such file" => new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1), new WantedRange("c.safetensors", 0, 1)]),
        _ => new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1)], StorageTier.Memory),
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_request_with_any_bad_range_should_be_refused_whole_offering_nothing(string why, string cause, bool damaged)
    {
        var reader = Sys.ActorOf(ReaderActor.Props(new LocalBlobStore(_root), Settings));
        var pending = Server.Pending;

        var reply = await reader.Ask<IActorCkptMessage>(Request(why), Patience);

        Assert.Contains(cause, Assert.IsType<ReadRangeFailure>(reply).Cause);
        Assert.Equal(damaged, ((ReadRangeFailure)reply).Damaged);
        Assert.Equal(pending, Server.Pending);
    }

    [Fact]
    public async Task A_reader_without_the_bulk_channel_should_refuse_ranges_together_naming_its_transfer_path()
    {
        var reader = Sys.ActorOf(ReaderActor.Props(new LocalBlobStore(_root), Settings with { TransferOverChannel = false }));

        var reply = await reader.Ask<IActorCkptMessage>(new ReadRanges(1, [new WantedRange("a.safetensors", 0, 1)]), Patience);

        Assert.Contains("serves ranges together only over the bulk channel (its transfer.path is stream-refs)", Assert.IsType<ReadRangeFailure>(reply).Cause);
    }

    [Fact]
    public async Task Ranges_a_reader_refuses_together_should_be_fetched_one_by_one_each_in_its_place()
    {
        // A reader whose transfer path is stream-refs, asked by a loader on the bulk channel.
        Sys.ActorOf(ReaderActor.Props(new LocalBlobStore(_root), Settings with { TransferOverChannel = false }), "streams");
        var node = ((ExtendedActorSystem)Sys).Provider.DefaultAddress.ToString();
        var oneByOne = ReaderRangeFetch.Through(Sys, Sys.Materializer(), "streams", Patience, Settings);
        var together = ReaderRangeFetch.Together(Sys, "streams", Patience, Settings, oneByOne);
        var ranges = new[] { new WantedRange("b.safetensors", 100, 4_000, 4096), new WantedRange("a.safetensors", 7, 70_000), new WantedRange("b.safetensors", 0, 1) };

        var fetched = new byte[74_001];
        await together(node, 1, ranges, fetched, new List<CheckedFrame>()).WaitAsync(Patience);

        Assert.Equal(_b[100..4_100].Concat(_a[7..70_007]).Concat(_b[..1]), fetched);
        // A bad range among them fails the fetch with its own reason: a file that is not there is damage to the step.
        var bad = await Assert.ThrowsAsync<CheckpointFormatException>(() => together(node, 1, [ranges[0], new WantedRange("c.safetensors", 0, 1)], new byte[4_001], new List<CheckedFrame>()));
        Assert.StartsWith($"'step-00000001/c.safetensors': reader on {node} could not serve it, it is missing or damaged there: ", bad.Message);
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Dispose();
    }
}
