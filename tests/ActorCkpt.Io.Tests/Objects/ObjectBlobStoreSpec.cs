namespace ActorCkpt.Io.Tests;

/// <summary>
/// What <see cref="ObjectBlobStore"/> adds over an object store's requests, against a container in
/// memory (<see cref="MemoryObjectClient"/>): uploads in parts that appear whole or never, bounded
/// parts in flight, retries, staged metadata published create-only, renames and deletes of
/// prefixes. The same against Azurite and s3rver: ObjectStoreRootSpec.
/// </summary>
public class ObjectBlobStoreSpec : IDisposable
{
    private const int Part = 5 << 20;
    private readonly TempDirectory _state = new();

    public void Dispose() => _state.Dispose();

    private ObjectBlobStore Store(MemoryObjectClient client, int parallelism = 2) =>
        new(ObjectRoot.Parse("s3://bucket/run"), client, new ObjectStoreOptions { PartSize = Part, Parallelism = parallelism, RetryBackoff = TimeSpan.FromMilliseconds(1) }, _state.Path);

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void A_file_written_out_of_order_should_appear_only_at_its_flush_whole_with_its_holes_zero()
    {
        var client = new MemoryObjectClient();
        var store = Store(client);
        var tail = Bytes(Part + 100, 1);
        var head = Bytes(1000, 2);
        using (var writer = store.Create("step-1/data.safetensors"))
        {
            writer.Write(tail, 2L * Part);
            writer.Write(head, 0);
            Assert.False(store.Exists("step-1/data.safetensors"));
            writer.Flush();
        }
        var stored = client.Objects["run/step-1/data.safetensors"];
        Assert.Equal(3L * Part + 100, stored.Length);
        Assert.Equal(head, stored[..1000]);
        Assert.All(stored[1000..(2 * Part)], b => Assert.Equal(0, b));
        Assert.Equal(tail, stored[(2 * Part)..]);
        Assert.Equal(4, client.Requests["part"]);
        Assert.Empty(client.OpenUploads);

        using var reader = store.OpenRead("step-1/data.safetensors");
        var back = new byte[tail.Length];
        reader.ReadExactly(back, 2L * Part);
        Assert.Equal(tail, back);
        // A range over several parts is read as several ranged GETs into the caller's bytes.
        Assert.True(client.Requests["get"] >= 2);
    }

    [Fact]
    public void Lent_bytes_should_be_sent_from_where_they_lie_and_written_bytes_from_a_copy()
    {
        var client = new MemoryObjectClient();
        var store = Store(client);
        var header = Bytes(100, 3);
        var data = Bytes(2 * Part + 4000, 4);
        const int piece = 256 << 10;
        using (var writer = store.Create("step-1/data.safetensors"))
        {
            writer.Write(header, 0);
            // As the data file writer lends a staged buffer: in pieces, one after another.
            for (var at = 0; at < data.Length; at += piece)
                writer.WriteLent(data.AsMemory(at, Math.Min(piece, data.Length - at)), header.Length + at);
            writer.Flush();
        }
        Assert.Equal(header.Concat(data).ToArray(), client.Objects["run/step-1/data.safetensors"]);

        // Part 1: the header from a copy, then the lent bytes joined into one piece; parts 2 and 3: one piece each.
        var first = client.PartBodies[1];
        Assert.Equal(2, first.Length);
        Assert.NotSame(header, ArrayOf(first[0]).Array);
        IsSliceOfData(first[1], 0, Part - 100);
        IsSliceOfData(Assert.Single(client.PartBodies[2]), Part - 100, Part);
        IsSliceOfData(Assert.Single(client.PartBodies[3]), 2 * Part - 100, 4100);

        void IsSliceOfData(ReadOnlyMemory<byte> memory, int offset, int count)
        {
            var slice = ArrayOf(memory);
            Assert.Same(data, slice.Array);
            Assert.Equal(offset, slice.Offset);
            Assert.Equal(count, slice.Count);
        }

        static ArraySegment<byte> ArrayOf(ReadOnlyMemory<byte> memory) =>
            System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) ? segment : throw new InvalidOperationException("not an array");
    }

    [Fact]
    public void A_small_file_should_be_one_put()
    {
        var client = new MemoryObjectClient();
        var store = Store(client);
        using (var writer = store.Create("latest-not-staged"))
        {
            writer.Write("7\n"u8, 0);
            writer.Flush();
        }
        Assert.Equal("7\n"u8.ToArray(), client.Objects["run/latest-not-staged"]);
        Assert.Equal(1, client.Requests["put"]);
        Assert.False(client.Requests.ContainsKey("start"));
    }

    [Fact]
    public void A_writer_disposed_before_its_flush_should_leave_no_object_and_no_upload()
    {
        var client = new MemoryObjectClient();
        var store = Store(client);
        using (var writer = store.Create("step-1/a.safetensors"))
            writer.Write(Bytes(2 * Part, 3), 0);
        // Parts not yet begun when the writer is dropped are never sent; an upload started is aborted
        // after every part sent has had its answer.
        Assert.InRange(client.Requests.GetValueOrDefault("part"), 0, 2);
        Assert.Equal(client.Requests.GetValueOrDefault("start") > 0 ? 1 : 0, client.Requests.GetValueOrDefault("abort"));
        Assert.Empty(client.OpenUploads);
        Assert.Empty(client.Objects);
    }

    [Fact]
    public async Task Parts_in_flight_should_never_exceed_the_parallelism_however_large_the_file()
    {
        var client = new MemoryObjectClient { Gate = new ManualResetEventSlim(false) };
        var store = Store(client, parallelism: 2);
        var data = Bytes(Part, 4);
        using var writer = store.Create("step-1/big.safetensors");
        // The writer fills parts faster than the gate lets them go: the third part's write waits for a slot.
        var writing = Task.Run(() =>
        {
            for (var p = 0; p < 6; p++) writer.Write(data, (long)p * Part);
        });
        SpinWait.SpinUntil(() => client.AtGate == 2, TimeSpan.FromSeconds(30));
        Assert.False(writing.IsCompleted);
        client.Gate.Set();
        await writing.WaitAsync(TimeSpan.FromSeconds(60));
        writer.Flush();
        Assert.Equal(2, client.MaxPartsInFlight);
        Assert.Equal(6L * Part, client.Objects["run/step-1/big.safetensors"].Length);
    }

    [Fact]
    public async Task An_abandoned_writer_waiting_on_a_store_that_stopped_answering_should_throw_at_once_and_leave_no_object()
    {
        // Parts that get no answer, and a request timeout far beyond the test: only the abandon ends the wait.
        var client = new MemoryObjectClient { Gate = new ManualResetEventSlim(false) };
        var store = new ObjectBlobStore(ObjectRoot.Parse("s3://bucket/run"), client,
            new ObjectStoreOptions { PartSize = Part, Parallelism = 1, RequestTimeout = TimeSpan.FromHours(1) }, _state.Path);
        var data = Bytes(Part, 6);
        var writer = store.Create("step-1/hung.safetensors");
        var writing = Task.Run(() =>
        {
            for (var p = 0; p < 3; p++) writer.Write(data, (long)p * Part);
        });
        SpinWait.SpinUntil(() => client.AtGate == 1, TimeSpan.FromSeconds(30));
        Assert.False(writing.IsCompleted);

        // Before, the write waited for a slot until the part's request timed out and its retries ran out
        // (an object tier's upload-timeout did not reach it: its copy checks the token between reads only).
        writer.Abandon();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writing.WaitAsync(TimeSpan.FromSeconds(60)));

        client.Gate.Set(); // the part in flight finishes its attempt; the dispose then drops the upload
        writer.Dispose();
        Assert.Empty(client.OpenUploads);
        Assert.Empty(client.Objects);
    }

    [Fact]
    public void A_part_that_fails_twice_should_be_sent_again_and_the_file_complete()
    {
        var client = new MemoryObjectClient();
        var store = Store(client);
        client.FailNext(k => k == "part", ObjectErrorKind.Transient);
        client.FailNext(k => k == "part", ObjectErrorKind.Throttled);
        var data = Bytes(2 * Part + 7, 5);
        using (var writer = store.Create("step-1/f.safetensors"))
        {
            writer.Write(data, 0);
            writer.Flush();
        }
        Assert.Equal(data, client.Objects["run/step-1/f.safetensors"]);
        Assert.Equal(2, store.Retried);
    }

    [Fact]
    public void A_part_that_never_succeeds_should_fail_the_flush_and_leave_nothing()
    {
        var client = new MemoryObjectClient();
        var store = new ObjectBlobStore(ObjectRoot.Parse("s3://bucket/run"), client,
            new ObjectStoreOptions { PartSize = Part, Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(1) }, _state.Path);
        for (var i = 0; i < 10; i++) client.FailNext(k => k == "part", ObjectErrorKind.Transient);
        var writer = store.Create("step-1/f.safetensors");
        var e = Assert.ThrowsAny<ObjectStoreException>(() =>
        {
            writer.Write(Bytes(2 * Part, 6), 0);
            writer.Flush();
        });
        Assert.Contains("injected Transient", e.Message);
        writer.Dispose();
        Assert.Empty(client.Objects);
        Assert.Empty(client.OpenUploads);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_step_should_commit_through_the_store_and_a_second_commit_of_it_be_refused(bool honoursCreateOnly)
    {
        var client = new MemoryObjectClient(honoursCreateOnly);
        var store = new CheckpointStore(Store(client));
        SavedCheckpoint.Save(store, 1, world: 2);
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        SavedCheckpoint.LoadAll(store);
        var committed = client.Objects["run/step-00000001/metadata.json"];
        // The staged metadata never went to the service: the commit is its one create-only write.
        Assert.DoesNotContain(client.Objects.Keys, k => k.EndsWith(".tmp", StringComparison.Ordinal));
        // Nor is its folder left in the local state directory, empty, for as long as the step.
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(((ObjectBlobStore)store.Blobs).StateDirectory, "staged")));

        // A second writer of the same step: staged, then refused at its publish; the first stands.
        var other = new CheckpointStore(Store(client));
        using (var w = other.Blobs.Create(CheckpointLayout.InStep(1, CheckpointLayout.MetadataTempFile)))
        {
            w.Write(Bytes(100, 7), 0);
            w.Flush();
        }
        Assert.Throws<StepAlreadyCommittedException>(() => other.PublishMetadata(1));
        Assert.Equal(committed, client.Objects["run/step-00000001/metadata.json"]);
    }

    [Fact]
    public void A_commit_whose_answer_was_lost_should_stand_when_its_retry_finds_its_own_metadata_there()
    {
        var client = new MemoryObjectClient(honoursCreateOnly: true);
        var store = new CheckpointStore(Store(client));
        // The metadata's create-only put lands, its answer does not: the retry finds the key taken.
        client.LoseAnswerOfNextPut(k => k.EndsWith("/" + CheckpointLayout.MetadataFile, StringComparison.Ordinal));

        SavedCheckpoint.Save(store, 1, world: 2);

        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        SavedCheckpoint.LoadAll(store);
        // Another writer's metadata there is still refused.
        using (var w = store.Blobs.Create(CheckpointLayout.InStep(1, CheckpointLayout.MetadataTempFile)))
        {
            w.Write(Bytes(100, 7), 0);
            w.Flush();
        }
        Assert.Throws<StepAlreadyCommittedException>(() => store.PublishMetadata(1));
    }

    [Fact]
    public async Task Deleting_a_step_should_uncommit_it_first_and_remove_its_objects_and_unfinished_uploads()
    {
        var client = new MemoryObjectClient();
        var blobs = Store(client);
        var store = new CheckpointStore(blobs);
        SavedCheckpoint.Save(store, 1, world: 2);
        SavedCheckpoint.Save(store, 2, world: 2);
        // A killed writer's upload under step 2.
        var id = await client.StartUploadAsync("run/step-00000002/orphan.safetensors", default);
        Assert.Single(blobs.AbandonedUploads());

        store.Delete(2);
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        Assert.DoesNotContain(client.Objects.Keys, k => k.StartsWith("run/step-00000002/", StringComparison.Ordinal));
        Assert.Empty(blobs.AbandonedUploads());
        Assert.Equal(new[] { "step-00000001" }, blobs.ListDirectories(""));
        _ = id;
    }

    [Fact]
    public async Task Abandoned_uploads_should_be_the_roots_own_not_those_of_a_root_nested_under_its_prefix()
    {
        var client = new MemoryObjectClient();
        var blobs = Store(client);
        foreach (var key in new[]
                 {
                     "run/step-00000002/r00000-000-a.safetensors", "run/memory/step-00000003/r00001-000-b.safetensors", "run/metadata.json.tmp",
                     // Another job's root under this prefix (s3://bucket/run/run-2), which this root's lock does not hold still.
                     "run/run-2/step-00000001/r00000-000-c.safetensors", "run/run-2/catalog.id",
                 })
            await client.StartUploadAsync(key, default);

        Assert.Equal(["memory/step-00000003/r00001-000-b.safetensors", "metadata.json.tmp", "step-00000002/r00000-000-a.safetensors"],
            blobs.AbandonedUploads().Select(u => u.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Quarantining_a_step_should_move_all_its_objects_under_quarantine()
    {
        var client = new MemoryObjectClient();
        var store = new CheckpointStore(Store(client));
        SavedCheckpoint.Save(store, 3, world: 2);
        var before = client.Objects.Keys.Where(k => k.StartsWith("run/step-00000003/", StringComparison.Ordinal)).Select(k => k["run/step-00000003/".Length..]).Order().ToArray();

        Assert.Equal("quarantine/step-00000003", store.Quarantine(3));
        Assert.Empty(store.CommittedSteps());
        Assert.Equal(before, client.Objects.Keys.Where(k => k.StartsWith("run/quarantine/step-00000003/", StringComparison.Ordinal))
            .Select(k => k["run/quarantine/step-00000003/".Length..]).Order().ToArray());
    }

    [Fact]
    public void Paths_that_climb_out_of_the_root_should_be_refused()
    {
        var store = Store(new MemoryObjectClient());
        Assert.Throws<UnauthorizedAccessException>(() => store.Exists("../other/x"));
        Assert.Throws<UnauthorizedAccessException>(() => store.Create("/abs"));
    }
}
